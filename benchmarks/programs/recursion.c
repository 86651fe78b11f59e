/* Recursion and calls: doubly recursive Fibonacci, Takeuchi's function and N-queens by
 * backtracking.  Mostly call/return overhead and the stack.
 * bench: test=18 interp=21
 */
#define BENCH_NAME "recursion"
#define BENCH_DEFAULT_N 41
#include "bench.h"

__attribute__((noinline)) static uint32_t fib(uint32_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static int tak(int x, int y, int z) {
    if (y >= x)
        return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

__attribute__((noinline)) static int queens(int n, int row, uint32_t cols, uint32_t d1, uint32_t d2) {
    if (row == n)
        return 1;
    int count = 0;
    for (int c = 0; c < n; c++) {
        uint32_t bc = 1u << c, b1 = 1u << (row + c), b2 = 1u << (row - c + n - 1);
        if ((cols & bc) || (d1 & b1) || (d2 & b2))
            continue;
        count += queens(n, row + 1, cols | bc, d1 | b1, d2 | b2);
    }
    return count;
}

static uint64_t bench_run(int n) {
    uint64_t h = 0;
    h = bench_mix(h, fib((uint32_t)n));
    /* tak and queens scale with n too, so reduced sizes stay quick. */
    for (int i = 0; i < n / 2; i++)
        h = bench_mix(h, (uint64_t)tak(18 + i % 3, 12, 6));
    int q = n / 3 < 10 ? n / 3 : 10;
    h = bench_mix(h, (uint64_t)queens(q, 0, 0, 0, 0));
    return h;
}
