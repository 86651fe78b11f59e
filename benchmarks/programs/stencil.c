/* Dense float loops: a 2-D Jacobi heat-diffusion stencil (5 points, single precision) on an
 * n x n grid with fixed hot borders, 500 sweeps, ping-ponging between two grids.
 * bench: test=16 interp=28
 */
#define BENCH_NAME "stencil"
#define BENCH_DEFAULT_N 1000
#include "bench.h"

#define SWEEPS 500

static void sweep(int G, const float *restrict src, float *restrict dst) {
    for (int y = 1; y < G - 1; y++) {
        const float *up = src + (y - 1) * G, *row = src + y * G, *down = src + (y + 1) * G;
        float *out = dst + y * G;
        for (int x = 1; x < G - 1; x++)
            out[x] = row[x] + 0.2f * (up[x] + down[x] + row[x - 1] + row[x + 1] - 4.0f * row[x]);
    }
}

static uint64_t bench_run(int n) {
    const int G = n < 8 ? 8 : n;
    float *a = calloc((size_t)G * G, sizeof(float));
    float *b = calloc((size_t)G * G, sizeof(float));
    for (int i = 0; i < G; i++) {
        a[i] = b[i] = 100.0f;                               /* top edge hot */
        a[(G - 1) * G + i] = b[(G - 1) * G + i] = -50.0f;   /* bottom edge cold */
        a[i * G] = b[i * G] = (float)(i % 64);              /* left edge ramp */
    }
    for (int i = 0; i < 200; i++)                           /* a few hot spots inside */
        a[(1 + bench_rand() % (uint64_t)(G - 2)) * G + 1 + bench_rand() % (uint64_t)(G - 2)] = 500.0f;
    for (int t = 0; t < SWEEPS; t++) {
        sweep(G, a, b);
        float *tmp = a; a = b; b = tmp;
    }
    uint64_t h = 0;
    for (int i = 0; i < G * G; i += 13)
        h = bench_mix_f32(h, a[i]);
    free(a);
    free(b);
    return h;
}
