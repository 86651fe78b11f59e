/* Auto-vectorised loops (built with -msimd128 for Wasm): saxpy, an integer dot product, a
 * byte-image clamp/absolute difference, int16 widening multiply-accumulate and a max reduction,
 * written as plain C loops for the compiler's vectoriser.
 * bench: test=4 interp=4 wasm-flags=-msimd128
 */
#define BENCH_NAME "autovec"
#define BENCH_DEFAULT_N 6000
#include "bench.h"

#define LEN 65536

static void saxpy(float *restrict y, const float *restrict x, float a, int n) {
    for (int i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

static int32_t dot_i32(const int32_t *restrict a, const int32_t *restrict b, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void clamp_absdiff(uint8_t *restrict out, const uint8_t *restrict a,
                          const uint8_t *restrict b, int n) {
    for (int i = 0; i < n; i++) {
        int d = a[i] - b[i];
        d = d < 0 ? -d : d;
        out[i] = (uint8_t)(d > 200 ? 200 : d);
    }
}

static int32_t mac_i16(const int16_t *restrict a, const int16_t *restrict b, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static uint32_t max_u32(const uint32_t *a, int n) {
    uint32_t m = 0;
    for (int i = 0; i < n; i++)
        m = a[i] > m ? a[i] : m;
    return m;
}

static uint64_t bench_run(int n) {
    float *x = malloc(LEN * sizeof(float)), *y = malloc(LEN * sizeof(float));
    int32_t *ia = malloc(LEN * sizeof(int32_t)), *ib = malloc(LEN * sizeof(int32_t));
    int16_t *sa = malloc(LEN * sizeof(int16_t)), *sb = malloc(LEN * sizeof(int16_t));
    uint8_t *ba = malloc(LEN), *bb = malloc(LEN), *bo = malloc(LEN);
    for (int i = 0; i < LEN; i++) {
        uint64_t r = bench_rand();
        x[i] = (float)(r & 0xffff) / 65536.0f;
        y[i] = (float)((r >> 16) & 0xffff) / 65536.0f;
        ia[i] = (int32_t)(r >> 32) >> 8;
        ib[i] = (int32_t)(r & 0xfff) - 2048;
        sa[i] = (int16_t)(r >> 20);
        sb[i] = (int16_t)(r >> 40);
        ba[i] = (uint8_t)r;
        bb[i] = (uint8_t)(r >> 56);
    }
    uint64_t h = 0;
    for (int rep = 0; rep < n; rep++) {
        saxpy(y, x, (rep & 1) ? 0.5f : -0.5f, LEN);
        int32_t d = dot_i32(ia, ib, LEN);
        clamp_absdiff(bo, ba, bb, LEN);
        int32_t m = mac_i16(sa, sb, LEN);
        ia[rep & (LEN - 1)] ^= d;                    /* loop-carried change: no hoisting */
        ba[rep & (LEN - 1)] = bo[(rep * 7) & (LEN - 1)];
        sa[rep & (LEN - 1)] = (int16_t)m;
        h = bench_mix(h, (uint32_t)d);
        h = bench_mix(h, (uint32_t)m);
        h = bench_mix(h, max_u32((const uint32_t *)ia, LEN));
    }
    for (int i = 0; i < LEN; i += 17)
        h = bench_mix_f32(bench_mix(h, bo[i]), y[i]);
    free(x); free(y); free(ia); free(ib); free(sa); free(sb); free(ba); free(bb); free(bo);
    return h;
}
