/* The subset of <wasm_simd128.h> used by simd_intrin.c, for native builds.
 *
 * On wasm32 this is the real header; natively each intrinsic is written with GCC/Clang vector
 * extensions (and SSE2 where Wasm has a saturating or rounding op), giving bit-identical results:
 * every operation here is exactly specified in both ISAs.
 */
#ifndef SIMD_COMPAT_H
#define SIMD_COMPAT_H

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#else
#include <emmintrin.h>
#include <stdint.h>
#include <string.h>

typedef int32_t v128_t __attribute__((vector_size(16), aligned(16)));
typedef float compat_f32x4 __attribute__((vector_size(16)));
typedef int32_t compat_i32x4 __attribute__((vector_size(16)));
typedef uint32_t compat_u32x4 __attribute__((vector_size(16)));
typedef uint16_t compat_u16x8 __attribute__((vector_size(16)));
typedef uint8_t compat_u8x16 __attribute__((vector_size(16)));
typedef uint16_t compat_u16x4 __attribute__((vector_size(8)));
typedef uint8_t compat_u8x8 __attribute__((vector_size(8)));

static inline v128_t wasm_v128_load(const void *p) { v128_t v; memcpy(&v, p, 16); return v; }
static inline void wasm_v128_store(void *p, v128_t v) { memcpy(p, &v, 16); }
static inline v128_t wasm_v128_and(v128_t a, v128_t b) { return a & b; }
static inline v128_t wasm_v128_or(v128_t a, v128_t b) { return a | b; }
static inline v128_t wasm_v128_xor(v128_t a, v128_t b) { return a ^ b; }
static inline v128_t wasm_v128_bitselect(v128_t a, v128_t b, v128_t m) { return (a & m) | (b & ~m); }
static inline int wasm_v128_any_true(v128_t a) {
    return (a[0] | a[1] | a[2] | a[3]) != 0;
}

static inline v128_t wasm_f32x4_splat(float x) { return (v128_t)(compat_f32x4){x, x, x, x}; }
static inline v128_t wasm_f32x4_make(float a, float b, float c, float d) {
    return (v128_t)(compat_f32x4){a, b, c, d};
}
static inline v128_t wasm_f32x4_add(v128_t a, v128_t b) { return (v128_t)((compat_f32x4)a + (compat_f32x4)b); }
static inline v128_t wasm_f32x4_sub(v128_t a, v128_t b) { return (v128_t)((compat_f32x4)a - (compat_f32x4)b); }
static inline v128_t wasm_f32x4_mul(v128_t a, v128_t b) { return (v128_t)((compat_f32x4)a * (compat_f32x4)b); }
static inline v128_t wasm_f32x4_le(v128_t a, v128_t b) { return (v128_t)((compat_f32x4)a <= (compat_f32x4)b); }

static inline v128_t wasm_i32x4_splat(int32_t x) { return (v128_t){x, x, x, x}; }
static inline v128_t wasm_i32x4_add(v128_t a, v128_t b) { return (v128_t)((compat_u32x4)a + (compat_u32x4)b); }
static inline v128_t wasm_i32x4_sub(v128_t a, v128_t b) { return (v128_t)((compat_u32x4)a - (compat_u32x4)b); }
static inline v128_t wasm_i32x4_mul(v128_t a, v128_t b) { return (v128_t)((compat_u32x4)a * (compat_u32x4)b); }
static inline v128_t wasm_i32x4_shl(v128_t a, uint32_t s) { return (v128_t)((compat_u32x4)a << (s & 31)); }
static inline v128_t wasm_u32x4_shr(v128_t a, uint32_t s) { return (v128_t)((compat_u32x4)a >> (s & 31)); }
static inline int32_t wasm_i32x4_extract_lane(v128_t a, int i) { return a[i]; }

static inline v128_t wasm_u8x16_add_sat(v128_t a, v128_t b) { return (v128_t)_mm_adds_epu8((__m128i)a, (__m128i)b); }
static inline v128_t wasm_u8x16_sub_sat(v128_t a, v128_t b) { return (v128_t)_mm_subs_epu8((__m128i)a, (__m128i)b); }
static inline v128_t wasm_u8x16_avgr(v128_t a, v128_t b) { return (v128_t)_mm_avg_epu8((__m128i)a, (__m128i)b); }
static inline v128_t wasm_u8x16_max(v128_t a, v128_t b) { return (v128_t)_mm_max_epu8((__m128i)a, (__m128i)b); }
static inline v128_t wasm_u16x8_extend_low_u8x16(v128_t a) {
    compat_u8x16 b = (compat_u8x16)a;
    compat_u8x8 lo = {b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]};
    return (v128_t)__builtin_convertvector(lo, compat_u16x8);
}
static inline v128_t wasm_u16x8_extend_high_u8x16(v128_t a) {
    compat_u8x16 b = (compat_u8x16)a;
    compat_u8x8 hi = {b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]};
    return (v128_t)__builtin_convertvector(hi, compat_u16x8);
}
static inline v128_t wasm_i16x8_add(v128_t a, v128_t b) { return (v128_t)((compat_u16x8)a + (compat_u16x8)b); }
static inline v128_t wasm_u32x4_extend_low_u16x8(v128_t a) {
    compat_u16x8 b = (compat_u16x8)a;
    compat_u16x4 lo = {b[0], b[1], b[2], b[3]};
    return (v128_t)__builtin_convertvector(lo, compat_u32x4);
}
static inline v128_t wasm_u32x4_extend_high_u16x8(v128_t a) {
    compat_u16x8 b = (compat_u16x8)a;
    compat_u16x4 hi = {b[4], b[5], b[6], b[7]};
    return (v128_t)__builtin_convertvector(hi, compat_u32x4);
}
#endif

#endif
