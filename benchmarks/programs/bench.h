/* Shared scaffolding for the benchmark programs.
 *
 * Each program defines BENCH_NAME and BENCH_DEFAULT_N, includes this header and implements
 * `static uint64_t bench_run(int n)`.  The normal build gets a `main` that reads the size from
 * argv[1] and prints one checksum line.  The interpreter build (-DBENCH_REACTOR -DBENCH_N=...)
 * has no WASI start-up: it exports `bench_interp()`, which wasm-interp runs with
 * `--run-all-exports` (its build has no WASI), returning the checksum.
 *
 * Programs must give the same checksum on every engine: fixed-width integer types only, no
 * pointer values or sizeof(void *) in results, no libm transcendental functions (glibc and
 * wasi-libc round differently), and floats folded into the checksum by their bit patterns.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t bench_run(int n);

/* splitmix64: the deterministic input generator for every program. */
static uint64_t bench_seed = 0x9E3779B97F4A7C15ull;
static inline uint64_t bench_rand(void) {
    uint64_t z = (bench_seed += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fold a value into a running checksum (FNV-style multiply, order-sensitive). */
static inline uint64_t bench_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0x100000001B3ull;
}

static inline uint64_t bench_mix_f64(uint64_t h, double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bench_mix(h, bits);
}

static inline uint64_t bench_mix_f32(uint64_t h, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bench_mix(h, bits);
}

#ifdef BENCH_REACTOR
__attribute__((export_name("bench_interp"))) uint64_t bench_interp(void) {
    return bench_run(BENCH_N);
}
#else
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : BENCH_DEFAULT_N;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [size > 0]\n", argv[0]);
        return 2;
    }
    uint64_t sum = bench_run(n);
    printf("%s n=%d checksum=%016llx\n", BENCH_NAME, n, (unsigned long long)sum);
    return 0;
}
#endif

#endif
