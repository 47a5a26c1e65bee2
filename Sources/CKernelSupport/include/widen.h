// Widening of 16-bit weights to f32 vectors for the Swift kernels. The Swift standard library's generic SIMD
// conversions are not inlined into the kernel loops (each became a call), so the conversions are spelled
// here with the instructions they should be: vpmovzxwd + vpslld for bf16, vcvtph2ps for f16. A build without
// AVX2 / F16C (LORAD_PORTABLE=1) gets the portable loops, which the tests also run on every build.
#ifndef LORAD_WIDEN_H
#define LORAD_WIDEN_H

#include <stdint.h>
#include <string.h>
#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#endif

/// Eight f32 lanes; Swift sees SIMD8<Float>.
typedef float lorad_float8 __attribute__((ext_vector_type(8)));

/// Value `i` of the little-endian 16-bit values at `p`, whatever the host's byte order.
static inline __attribute__((always_inline)) uint32_t lorad_half_bits(const void *p, int i) {
    const unsigned char *bytes = (const unsigned char *)p + 2 * i;
    return (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8);
}

static inline __attribute__((always_inline)) float lorad_float_from_bits(uint32_t bits) {
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

/// Eight bf16 values at `p` as f32, one lane at a time.
static inline lorad_float8 lorad_widen_bfloat16_portable(const void *p) {
    lorad_float8 out;
    for (int i = 0; i < 8; i++) out[i] = lorad_float_from_bits(lorad_half_bits(p, i) << 16);
    return out;
}

/// Eight IEEE f16 values at `p` as f32, exactly (subnormals included), one lane at a time.
static inline lorad_float8 lorad_widen_float16_portable(const void *p) {
    lorad_float8 out;
    for (int i = 0; i < 8; i++) {
        uint32_t half = lorad_half_bits(p, i);
        uint32_t sign = (half & 0x8000u) << 16, exponent = (half >> 10) & 0x1Fu, mantissa = half & 0x3FFu;
        float value;
        if (exponent == 0) {
            value = (float)mantissa * 0x1p-24f;  // zero or subnormal: exact in f32
            if (sign) value = -value;
        } else if (exponent == 0x1F) {
            value = lorad_float_from_bits(sign | 0x7F800000u | (mantissa << 13));
        } else {
            value = lorad_float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
        }
        out[i] = value;
    }
    return out;
}

/// Eight little-endian bf16 values at `p` (any alignment) as f32: each is the top half of its f32.
static inline __attribute__((always_inline)) lorad_float8 lorad_widen_bfloat16(const void *p) {
#if defined(__AVX2__) && defined(__F16C__)
    __m256i bits = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16);
    return (lorad_float8)_mm256_castsi256_ps(bits);
#else
    return lorad_widen_bfloat16_portable(p);
#endif
}

/// Eight little-endian IEEE f16 values at `p` (any alignment) as f32, exactly (subnormals included).
static inline __attribute__((always_inline)) lorad_float8 lorad_widen_float16(const void *p) {
#if defined(__AVX2__) && defined(__F16C__)
    return (lorad_float8)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
#else
    return lorad_widen_float16_portable(p);
#endif
}

#endif
