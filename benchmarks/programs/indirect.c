/* Indirect calls: a table of 16 operations picked by data, "objects" dispatched through
 * vtables of function pointers, and a heapsort whose comparisons go through a comparator
 * pointer.  Nothing here can be devirtualised.
 * bench: test=20000 interp=100000
 */
#define BENCH_NAME "indirect"
#define BENCH_DEFAULT_N 12000000
#include "bench.h"

typedef uint32_t (*binop)(uint32_t, uint32_t);

static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
static uint32_t op_sub(uint32_t a, uint32_t b) { return a - b; }
static uint32_t op_mul(uint32_t a, uint32_t b) { return a * b + 1; }
static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
static uint32_t op_rotl(uint32_t a, uint32_t b) { return a << (b & 31) | a >> ((32 - b) & 31); }
static uint32_t op_min(uint32_t a, uint32_t b) { return a < b ? a : b; }
static uint32_t op_max(uint32_t a, uint32_t b) { return a > b ? a : b; }
static uint32_t op_avg(uint32_t a, uint32_t b) { return (a & b) + ((a ^ b) >> 1); }
static uint32_t op_div(uint32_t a, uint32_t b) { return a / (b | 1); }
static uint32_t op_mod(uint32_t a, uint32_t b) { return a % (b | 1); }
static uint32_t op_clz(uint32_t a, uint32_t b) { return (uint32_t)__builtin_clz(a | 1) + b; }
static uint32_t op_pop(uint32_t a, uint32_t b) { return (uint32_t)__builtin_popcount(a) ^ b; }
static uint32_t op_andn(uint32_t a, uint32_t b) { return a & ~b; }
static uint32_t op_or(uint32_t a, uint32_t b) { return a | (b >> 3); }
static uint32_t op_shr(uint32_t a, uint32_t b) { return a >> (b & 15); }
static uint32_t op_hash(uint32_t a, uint32_t b) { return (a ^ b) * 0x45d9f3bu; }

static binop OPS[16] = {op_add, op_sub, op_mul, op_xor, op_rotl, op_min, op_max, op_avg,
                        op_div, op_mod, op_clz, op_pop, op_andn, op_or, op_shr, op_hash};

/* Objects with vtables. */
struct shape;
typedef struct {
    int64_t (*area)(const struct shape *);
    int64_t (*perimeter)(const struct shape *);
    void (*grow)(struct shape *, int32_t);
} shape_vtable;

typedef struct shape {
    const shape_vtable *vt;
    int32_t a, b;
} shape;

static int64_t rect_area(const shape *s) { return (int64_t)s->a * s->b; }
static int64_t rect_perim(const shape *s) { return 2 * ((int64_t)s->a + s->b); }
static void rect_grow(shape *s, int32_t d) { s->a += d; s->b -= d / 2; }
static int64_t sq_area(const shape *s) { return (int64_t)s->a * s->a; }
static int64_t sq_perim(const shape *s) { return 4 * (int64_t)s->a; }
static void sq_grow(shape *s, int32_t d) { s->a = (s->a + d) & 0xffff; }
static int64_t tri_area(const shape *s) { return (int64_t)s->a * s->b / 2; }
static int64_t tri_perim(const shape *s) { return (int64_t)s->a + s->b + (s->a > s->b ? s->a : s->b); }
static void tri_grow(shape *s, int32_t d) { s->b = (s->b ^ d) & 0xfff; }

static const shape_vtable VTABLES[3] = {
    {rect_area, rect_perim, rect_grow},
    {sq_area, sq_perim, sq_grow},
    {tri_area, tri_perim, tri_grow},
};

typedef int (*comparator)(const void *, const void *);
static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}
static int cmp_u32_desc_low(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a & 0xffff, y = *(const uint32_t *)b & 0xffff;
    return (y > x) - (y < x);
}

static void sift_down(uint32_t *a, int start, int end, comparator cmp) {
    int root = start;
    while (2 * root + 1 <= end) {
        int child = 2 * root + 1;
        if (child + 1 <= end && cmp(&a[child], &a[child + 1]) < 0)
            child++;
        if (cmp(&a[root], &a[child]) >= 0)
            return;
        uint32_t t = a[root]; a[root] = a[child]; a[child] = t;
        root = child;
    }
}

static void heapsort(uint32_t *a, int n, comparator cmp) {
    for (int s = (n - 2) / 2; s >= 0; s--)
        sift_down(a, s, n - 1, cmp);
    for (int end = n - 1; end > 0; end--) {
        uint32_t t = a[0]; a[0] = a[end]; a[end] = t;
        sift_down(a, 0, end - 1, cmp);
    }
}

static uint64_t bench_run(int n) {
    uint64_t h = 0;
    /* 1. Operation table driven by data. */
    uint32_t acc = 1;
    for (int i = 0; i < n; i++) {
        uint32_t r = (uint32_t)i * 2654435761u;
        acc = OPS[(r >> 28) ^ (acc & 15)](acc, r);
    }
    h = bench_mix(h, acc);

    /* 2. Virtual dispatch over a mixed array of shapes. */
    int ns = 1024;
    shape *shapes = malloc(sizeof(shape) * (size_t)ns);
    for (int i = 0; i < ns; i++) {
        shapes[i].vt = &VTABLES[bench_rand() % 3];
        shapes[i].a = (int32_t)(bench_rand() % 1000) + 1;
        shapes[i].b = (int32_t)(bench_rand() % 1000) + 1;
    }
    int64_t total = 0;
    for (int rep = 0; rep < n / ns / 2 + 1; rep++)
        for (int i = 0; i < ns; i++) {
            shape *s = &shapes[i];
            total += s->vt->area(s) - s->vt->perimeter(s);
            s->vt->grow(s, (int32_t)(rep & 7) - 3);
        }
    h = bench_mix(h, (uint64_t)total);
    free(shapes);

    /* 3. Heapsort through comparator pointers. */
    int m = n / 16;
    uint32_t *keys = malloc(sizeof(uint32_t) * (size_t)m);
    for (int i = 0; i < m; i++)
        keys[i] = (uint32_t)bench_rand();
    heapsort(keys, m, cmp_u32);
    for (int i = 0; i < m; i += 31)
        h = bench_mix(h, keys[i]);
    heapsort(keys, m, cmp_u32_desc_low);
    for (int i = 0; i < m; i += 29)
        h = bench_mix(h, keys[i] & 0xffff);
    free(keys);
    return h;
}
