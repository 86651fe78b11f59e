/* Sorting: an introsort-style quicksort (median of three, insertion sort below 16) on n 32-bit
 * keys, then a bottom-up merge sort of n 64-bit records; both results are verified sorted.
 * bench: test=20000 interp=15000
 */
#define BENCH_NAME "sort"
#define BENCH_DEFAULT_N 3000000
#include "bench.h"

static void insertion_sort(uint32_t *a, int lo, int hi) {
    for (int i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        int j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap32(uint32_t *a, int i, int j) {
    uint32_t t = a[i]; a[i] = a[j]; a[j] = t;
}

static void quicksort(uint32_t *a, int lo, int hi) {
    while (hi - lo > 16) {
        int mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swap32(a, mid, lo);
        if (a[hi] < a[lo]) swap32(a, hi, lo);
        if (a[hi] < a[mid]) swap32(a, hi, mid);
        uint32_t pivot = a[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                swap32(a, i, j);
                i++;
                j--;
            }
        }
        /* Recurse into the smaller half, loop on the larger: O(log n) stack. */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

typedef struct {
    uint64_t key;
    uint32_t payload;
} record;

static void merge_sort(record *a, record *tmp, int n) {
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = a[j].key < a[i].key ? a[j++] : a[i++];   /* stable */
            while (i < mid) tmp[k++] = a[i++];
            while (j < hi) tmp[k++] = a[j++];
        }
        record *t = a; a = tmp; tmp = t;
        memcpy(tmp, a, sizeof(record) * (size_t)n);   /* keep the result in both buffers */
    }
}

static uint64_t bench_run(int n) {
    uint32_t *keys = malloc(sizeof(uint32_t) * (size_t)n);
    for (int i = 0; i < n; i++)
        keys[i] = (uint32_t)bench_rand();
    quicksort(keys, 0, n - 1);
    uint64_t h = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && keys[i - 1] > keys[i]) {
            fprintf(stderr, "sort: quicksort result not sorted at %d\n", i);
            exit(1);
        }
        if (i % 97 == 0)
            h = bench_mix(h, keys[i]);
    }
    free(keys);

    int m = n / 2;
    record *recs = malloc(sizeof(record) * (size_t)m);
    record *tmp = malloc(sizeof(record) * (size_t)m);
    for (int i = 0; i < m; i++) {
        recs[i].key = bench_rand() % 100000;   /* many equal keys: stability is observable */
        recs[i].payload = (uint32_t)i;
    }
    merge_sort(recs, tmp, m);
    for (int i = 0; i < m; i++) {
        if (i > 0 && (recs[i - 1].key > recs[i].key ||
                      (recs[i - 1].key == recs[i].key && recs[i - 1].payload > recs[i].payload))) {
            fprintf(stderr, "sort: merge sort result not sorted/stable at %d\n", i);
            exit(1);
        }
        if (i % 89 == 0)
            h = bench_mix(h, recs[i].key << 32 | recs[i].payload);
    }
    free(recs);
    free(tmp);
    return h;
}
