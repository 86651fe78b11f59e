/* Pointer chasing: a singly linked list threaded through an array in random order, walked
 * repeatedly, and an unbalanced binary search tree built from random keys and probed.
 * bench: test=2000 interp=8000
 */
#define BENCH_NAME "pointer_chase"
#define BENCH_DEFAULT_N 120000
#include "bench.h"

typedef struct lnode {
    struct lnode *next;
    uint32_t value;
} lnode;

typedef struct tnode {
    struct tnode *left, *right;
    uint32_t key, count;
} tnode;

static uint64_t bench_run(int n) {
    /* Linked list in a random permutation of its storage. */
    lnode *nodes = malloc(sizeof(lnode) * (size_t)n);
    uint32_t *perm = malloc(sizeof(uint32_t) * (size_t)n);
    for (int i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (int i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(bench_rand() % (uint64_t)(i + 1));
        uint32_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    for (int i = 0; i < n; i++) {
        nodes[perm[i]].value = (uint32_t)i * 2654435761u;
        nodes[perm[i]].next = i + 1 < n ? &nodes[perm[i + 1]] : NULL;
    }
    uint64_t h = 0;
    for (int rep = 0; rep < 40; rep++) {
        uint32_t acc = (uint32_t)rep;
        for (lnode *p = &nodes[perm[0]]; p; p = p->next)
            acc = acc * 31 + p->value;
        h = bench_mix(h, acc);
    }
    free(perm);

    /* Binary search tree: insert n random keys (duplicates counted), then probe 4n times. */
    tnode *pool = malloc(sizeof(tnode) * (size_t)n);
    int used = 0;
    tnode *root = NULL;
    for (int i = 0; i < n; i++) {
        uint32_t key = (uint32_t)(bench_rand() % (uint64_t)(4 * n));
        tnode **slot = &root;
        while (*slot && (*slot)->key != key)
            slot = key < (*slot)->key ? &(*slot)->left : &(*slot)->right;
        if (*slot) {
            (*slot)->count++;
        } else {
            tnode *t = &pool[used++];
            t->left = t->right = NULL;
            t->key = key;
            t->count = 1;
            *slot = t;
        }
    }
    uint64_t found = 0, depth = 0;
    for (int i = 0; i < 4 * n; i++) {
        uint32_t key = (uint32_t)(bench_rand() % (uint64_t)(4 * n));
        tnode *t = root;
        while (t && t->key != key) {
            t = key < t->key ? t->left : t->right;
            depth++;
        }
        if (t)
            found += t->count;
    }
    h = bench_mix(h, found);
    h = bench_mix(h, depth);
    h = bench_mix(h, (uint64_t)used);
    free(pool);
    free(nodes);
    return h;
}
