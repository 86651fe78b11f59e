/* malloc-heavy containers: a chained hash map whose every entry and key string is its own
 * allocation, plus growable vectors (realloc doubling).  Insert, look up, delete half,
 * re-insert, then free everything; several rounds, so the allocator's free lists churn.
 * bench: test=3000 interp=2000
 */
#define BENCH_NAME "containers"
#define BENCH_DEFAULT_N 120000
#include "bench.h"

typedef struct entry {
    struct entry *next;
    char *key;
    uint32_t hash;
    uint32_t value;
} entry;

typedef struct {
    entry **buckets;
    uint32_t nbuckets, count;
} map;

typedef struct {
    uint32_t *data;
    uint32_t len, cap;
} vec;

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 16777619u;
    return h;
}

static void map_grow(map *m) {
    uint32_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
    entry **b = calloc(nb, sizeof(entry *));
    for (uint32_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

static entry **map_find(map *m, const char *key, uint32_t h) {
    entry **slot = &m->buckets[h & (m->nbuckets - 1)];
    while (*slot && ((*slot)->hash != h || strcmp((*slot)->key, key) != 0))
        slot = &(*slot)->next;
    return slot;
}

static void map_put(map *m, const char *key, uint32_t value) {
    if (m->count >= m->nbuckets)
        map_grow(m);
    uint32_t h = hash_str(key);
    entry **slot = map_find(m, key, h);
    if (*slot) {
        (*slot)->value += value;
        return;
    }
    entry *e = malloc(sizeof *e);
    size_t len = strlen(key);
    e->key = malloc(len + 1);
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *slot = e;
    m->count++;
}

static int map_del(map *m, const char *key) {
    entry **slot = map_find(m, key, hash_str(key));
    entry *e = *slot;
    if (!e)
        return 0;
    *slot = e->next;
    free(e->key);
    free(e);
    m->count--;
    return 1;
}

static void map_free(map *m) {
    for (uint32_t i = 0; i < m->nbuckets; i++)
        for (entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e->key);
            free(e);
        }
    free(m->buckets);
}

static void vec_push(vec *v, uint32_t x) {
    if (v->len == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->data = realloc(v->data, v->cap * sizeof(uint32_t));
    }
    v->data[v->len++] = x;
}

static void make_key(char *buf, uint32_t k) {
    /* Variable-length keys, 4..19 chars, from a small alphabet. */
    int len = 4 + (int)(k % 16);
    for (int i = 0; i < len; i++) {
        buf[i] = (char)('a' + (k % 26));
        k = k * 1103515245u + 12345u;
    }
    buf[len] = 0;
}

static uint64_t bench_run(int n) {
    uint64_t h = 0;
    char key[32];
    for (int round = 0; round < 4; round++) {
        map m = {0};
        vec *lists = calloc(64, sizeof(vec));
        for (int i = 0; i < n; i++) {
            uint32_t k = (uint32_t)(bench_rand() % (uint64_t)(n * 2));
            make_key(key, k);
            map_put(&m, key, (uint32_t)i);
            vec_push(&lists[k % 64], k);
        }
        uint32_t deleted = 0;
        for (int i = 0; i < n; i += 2) {
            make_key(key, (uint32_t)i);
            deleted += (uint32_t)map_del(&m, key);
        }
        for (int i = 0; i < n / 2; i++) {
            make_key(key, (uint32_t)(bench_rand() % (uint64_t)(n * 2)));
            map_put(&m, key, 1);
        }
        uint64_t vsum = 0;
        for (uint32_t b = 0; b < m.nbuckets; b++)
            for (entry *e = m.buckets[b]; e; e = e->next)
                vsum += e->value ^ e->hash;
        for (int l = 0; l < 64; l++) {
            for (uint32_t i = 0; i < lists[l].len; i += 5)
                vsum += lists[l].data[i];
            free(lists[l].data);
        }
        free(lists);
        h = bench_mix(h, vsum);
        h = bench_mix(h, m.count);
        h = bench_mix(h, deleted);
        map_free(&m);
    }
    return h;
}
