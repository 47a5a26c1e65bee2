// Widening of 16-bit weights to f32 vectors for the Swift kernels. The Swift standard library's generic SIMD
// conversions are not inlined into the kernel loops (each became a call), so the conversions are spelled
// here with the instructions they should be: vpmovzxwd + vpslld for bf16, vcvtph2ps for f16.
#ifndef LORAD_WIDEN_H
#define LORAD_WIDEN_H

#include <stdint.h>
#include <string.h>
#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#endif

/// Eight f32 lanes; Swift sees SIMD8<Float>.
typedef float lorad_float8 __attribute__((ext_vector_type(8)));

/// Eight little-endian bf16 values at `p` (any alignment) as f32: each is the top half of its f32.
static inline __attribute__((always_inline)) lorad_float8 lorad_widen_bfloat16(const void *p) {
#if defined(__AVX2__) && defined(__F16C__)
    __m256i bits = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16);
    return (lorad_float8)_mm256_castsi256_ps(bits);
#else
    lorad_float8 out;
    for (int i = 0; i < 8; i++) {
        uint16_t half;
        memcpy(&half, (const char *)p + 2 * i, 2);
        uint32_t bits = (uint32_t)half << 16;
        float value;
        memcpy(&value, &bits, 4);
        out[i] = value;
    }
    return out;
#endif
}

/// Eight little-endian IEEE f16 values at `p` (any alignment) as f32, exactly (subnormals included).
static inline __attribute__((always_inline)) lorad_float8 lorad_widen_float16(const void *p) {
#if defined(__AVX2__) && defined(__F16C__)
    return (lorad_float8)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
#else
    lorad_float8 out;
    for (int i = 0; i < 8; i++) {
        uint16_t half;
        memcpy(&half, (const char *)p + 2 * i, 2);
        uint32_t sign = (uint32_t)(half & 0x8000) << 16, exponent = (half >> 10) & 0x1F, mantissa = half & 0x3FF;
        uint32_t bits;
        if (exponent == 0) {
            float magnitude = (float)mantissa * 0x1p-24f;
            memcpy(&bits, &magnitude, 4);
            bits |= sign;
        } else if (exponent == 0x1F) {
            bits = sign | 0x7F800000u | (mantissa << 13);
        } else {
            bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
        }
        float value;
        memcpy(&value, &bits, 4);
        out[i] = value;
    }
    return out;
#endif
}

#endif
