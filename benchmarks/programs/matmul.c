/* Dense float loops: C = A * B on n x n double matrices, i-k-j order (the inner loop is a
 * vectorisable axpy), repeated with the result fed back so no product is dead.
 * bench: test=24 interp=60
 */
#define BENCH_NAME "matmul"
#define BENCH_DEFAULT_N 800
#include "bench.h"

static void matmul(int n, const double *a, const double *b, double *c) {
    memset(c, 0, sizeof(double) * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++) {
        double *ci = c + (size_t)i * n;
        for (int k = 0; k < n; k++) {
            double aik = a[(size_t)i * n + k];
            const double *bk = b + (size_t)k * n;
            for (int j = 0; j < n; j++)
                ci[j] += aik * bk[j];
        }
    }
}

static uint64_t bench_run(int n) {
    size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(nn * sizeof(double));
    double *b = malloc(nn * sizeof(double));
    double *c = malloc(nn * sizeof(double));
    for (size_t i = 0; i < nn; i++) {
        a[i] = (double)(bench_rand() % 2001) / 1000.0 - 1.0;
        b[i] = (double)(bench_rand() % 2001) / 1000.0 - 1.0;
    }
    uint64_t h = 0;
    for (int rep = 0; rep < 3; rep++) {
        matmul(n, a, b, c);
        /* Normalise and feed back, keeping values bounded. */
        double scale = 1.0 / (double)n;
        for (size_t i = 0; i < nn; i++)
            a[i] = c[i] * scale;
        for (size_t i = 0; i < nn; i += 7)
            h = bench_mix_f64(h, c[i]);
    }
    free(a);
    free(b);
    free(c);
    return h;
}
