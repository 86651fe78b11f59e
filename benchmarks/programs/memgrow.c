/* memory.grow-heavy: the heap is extended one 64 KiB page at a time with sbrk (memory.grow in
 * wasi-libc, brk natively); each new page is filled and mixed with a random earlier page, so the
 * working set keeps growing and every step pays for a grow.
 * bench: test=64 interp=32
 */
#define BENCH_NAME "memgrow"
#define BENCH_DEFAULT_N 5000
#include "bench.h"

#include <unistd.h>

#define PAGE 65536
#define WORDS (PAGE / 4)
#define MAX_PAGES 16384

static uint64_t bench_run(int n) {
    static uint32_t *pages[MAX_PAGES];
    if (n > MAX_PAGES)
        n = MAX_PAGES;
    uint64_t h = 0;
    uint32_t x = 12345;
    for (int p = 0; p < n; p++) {
        uint32_t *page = sbrk(PAGE);
        if (page == (void *)-1) {
            fprintf(stderr, "memgrow: sbrk failed at page %d\n", p);
            exit(1);
        }
        pages[p] = page;
        for (int i = 0; i < WORDS; i++) {
            x = x * 1664525u + 1013904223u;
            page[i] = x;
        }
        const uint32_t *old = pages[bench_rand() % (uint64_t)(p + 1)];
        uint32_t acc = 0;
        for (int i = 0; i < WORDS; i++) {
            acc = (acc ^ (page[i] + old[WORDS - 1 - i])) * 16777619u;
            page[i] ^= acc >> 7;
        }
        h = bench_mix(h, acc);
    }
    return h;
}
