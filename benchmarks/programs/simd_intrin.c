/* Explicit SIMD with <wasm_simd128.h> intrinsics (simd_compat.h maps them to SSE2 natively):
 * a Mandelbrot set computed four pixels at a time in f32x4, and byte-image arithmetic in u8x16
 * (saturating add/sub, rounding average, max) with widening sums.
 * bench: test=64 interp=200 wasm-flags=-msimd128
 */
#define BENCH_NAME "simd_intrin"
#define BENCH_DEFAULT_N 5000
#include "bench.h"
#include "simd_compat.h"

static uint64_t mandelbrot(int size) {
    uint64_t h = 0;
    const float scale = 3.0f / (float)size;
    const v128_t four = wasm_f32x4_splat(4.0f), one = wasm_i32x4_splat(1);
    for (int y = 0; y < size; y++) {
        v128_t ci = wasm_f32x4_splat((float)y * scale - 1.5f);
        uint32_t row = 0;
        for (int x = 0; x < size; x += 4) {
            v128_t cr = wasm_f32x4_make((float)x * scale - 2.0f, (float)(x + 1) * scale - 2.0f,
                                        (float)(x + 2) * scale - 2.0f, (float)(x + 3) * scale - 2.0f);
            v128_t zr = cr, zi = ci, count = wasm_i32x4_splat(0);
            for (int it = 0; it < 64; it++) {
                v128_t zr2 = wasm_f32x4_mul(zr, zr), zi2 = wasm_f32x4_mul(zi, zi);
                v128_t inside = wasm_f32x4_le(wasm_f32x4_add(zr2, zi2), four);
                if (!wasm_v128_any_true(inside))
                    break;
                count = wasm_i32x4_add(count, wasm_v128_and(inside, one));
                v128_t zri = wasm_f32x4_mul(zr, zi);
                zr = wasm_f32x4_add(wasm_f32x4_sub(zr2, zi2), cr);
                zi = wasm_f32x4_add(wasm_f32x4_add(zri, zri), ci);
            }
            row = row * 31 + (uint32_t)wasm_i32x4_extract_lane(count, 0) +
                  (uint32_t)wasm_i32x4_extract_lane(count, 1) * 3 +
                  (uint32_t)wasm_i32x4_extract_lane(count, 2) * 5 +
                  (uint32_t)wasm_i32x4_extract_lane(count, 3) * 7;
        }
        h = bench_mix(h, row);
    }
    return h;
}

static uint64_t image_ops(int size, int reps) {
    size_t len = (size_t)size * (size_t)size;
    len = (len + 15) & ~(size_t)15;
    uint8_t *a = malloc(len), *b = malloc(len), *out = malloc(len);
    for (size_t i = 0; i < len; i++) {
        a[i] = (uint8_t)bench_rand();
        b[i] = (uint8_t)(i * 7 + (i >> 8));
    }
    uint64_t h = 0;
    for (int r = 0; r < reps; r++) {
        v128_t sum = wasm_i32x4_splat(0);
        for (size_t i = 0; i < len; i += 16) {
            v128_t va = wasm_v128_load(a + i), vb = wasm_v128_load(b + i);
            v128_t diff = wasm_v128_or(wasm_u8x16_sub_sat(va, vb), wasm_u8x16_sub_sat(vb, va));
            v128_t wide = wasm_i16x8_add(wasm_u16x8_extend_low_u8x16(diff),
                                         wasm_u16x8_extend_high_u8x16(diff));
            sum = wasm_i32x4_add(sum, wasm_i32x4_add(wasm_u32x4_extend_low_u16x8(wide),
                                                     wasm_u32x4_extend_high_u16x8(wide)));
            v128_t blend = wasm_u8x16_avgr(va, vb);
            v128_t bright = wasm_u8x16_add_sat(blend, wasm_u8x16_max(va, vb));
            wasm_v128_store(out + i, wasm_v128_xor(bright, wasm_i32x4_shl(diff, (uint32_t)r & 7)));
        }
        h = bench_mix(h, (uint32_t)wasm_i32x4_extract_lane(sum, 0) ^
                         (uint32_t)wasm_i32x4_extract_lane(sum, 1) << 1 ^
                         (uint32_t)wasm_i32x4_extract_lane(sum, 2) << 2 ^
                         (uint32_t)wasm_i32x4_extract_lane(sum, 3) << 3);
        uint8_t *t = a; a = out; out = t;   /* feed the result back in */
    }
    free(a);
    free(b);
    free(out);
    return h;
}

static uint64_t bench_run(int n) {
    int size = n & ~3;
    uint64_t h = mandelbrot(size);
    return bench_mix(h, image_ops(size, 40));
}
