// Decode attention over one segment of at most 32 cached positions, for the query heads that share one kv head.
//
// Written in C with clang's vector extensions because the Swift compiler spilled this kernel's twelve
// accumulators to the stack on every iteration and called a generic, non-inlined horizontal max. It is a C target
// of its own, compiled by clang (its -O3 pipeline fully unrolls the head and vector loops, so the accumulators
// live in registers; compiled as a header through Swift's pipeline they did not) with AVX2/FMA/F16C in the
// default build and for baseline x86-64 (SSE) with LORAD_PORTABLE=1.
//
// Keys are stored transposed within a page (dimension-major), so eight positions' scores are one vector and
// need no horizontal sums: score(i) = Σ_d q[d] · K[d][i].
#include "segment_attention.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#pragma clang fp contract(fast)
#pragma clang diagnostic push
// Every function here is inlined, so no vector crosses a call whatever the target's vector ABI.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float lorad_sa_f8 __attribute__((ext_vector_type(8)));
typedef int32_t lorad_sa_i8 __attribute__((ext_vector_type(8)));

static inline __attribute__((always_inline)) lorad_sa_f8 lorad_sa_load(const float *p) {
    lorad_sa_f8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

typedef _Float16 lorad_sa_h8 __attribute__((ext_vector_type(8)));

/// Eight values at `p`, f32 (half == 0) or f16 (half == 1), as f32.
static inline __attribute__((always_inline)) lorad_sa_f8 lorad_sa_load_any(const void *p, const int half) {
    if (half) {
        lorad_sa_h8 h;
        memcpy(&h, p, sizeof h);
        return __builtin_convertvector(h, lorad_sa_f8);
    }
    return lorad_sa_load((const float *)p);
}

static inline __attribute__((always_inline)) float lorad_sa_scalar_any(const void *p, long i, const int half) {
    if (half) {
        _Float16 h;
        memcpy(&h, (const char *)p + 2 * i, 2);
        return (float)h;
    }
    return ((const float *)p)[i];
}

static inline __attribute__((always_inline)) void lorad_sa_store(float *p, lorad_sa_f8 v) { memcpy(p, &v, sizeof v); }

static inline __attribute__((always_inline)) lorad_sa_f8 lorad_sa_splat(float x) {
    return (lorad_sa_f8){x, x, x, x, x, x, x, x};
}

static inline __attribute__((always_inline)) lorad_sa_f8 lorad_sa_select(lorad_sa_i8 mask, lorad_sa_f8 a, lorad_sa_f8 b) {
    return (lorad_sa_f8)(((lorad_sa_i8)a & mask) | ((lorad_sa_i8)b & ~mask));
}

/// The sum of the eight lanes, in a fixed tree order.
static inline __attribute__((always_inline)) float lorad_sa_sum(lorad_sa_f8 v) {
    typedef float f4 __attribute__((ext_vector_type(4)));
    f4 s4 = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    f4 s2 = s4 + __builtin_shufflevector(s4, s4, 2, 3, 0, 1);
    return s2[0] + s2[1];
}

/// e^x lane by lane: the polynomial of `FastExp.exp` (Cephes' expf), inputs below -87.3 give 0.
static inline __attribute__((always_inline)) lorad_sa_f8 lorad_sa_exp(lorad_sa_f8 x) {
    const lorad_sa_f8 upper = lorad_sa_splat(88.72283f), lower = lorad_sa_splat(-87.33654f);
    lorad_sa_i8 too_small = x < lower, too_large = x > upper;
    lorad_sa_f8 xc = lorad_sa_select(too_large, upper, lorad_sa_select(too_small, lower, x));
    const lorad_sa_f8 magic = lorad_sa_splat(12582912.0f);
    lorad_sa_f8 shifted = xc * 1.44269504f + magic;
    lorad_sa_f8 n = shifted - magic;
    lorad_sa_f8 r = xc - n * 0.693359375f;
    r = r + n * 2.1219444e-4f;
    lorad_sa_f8 r2 = r * r;
    lorad_sa_f8 p = lorad_sa_splat(1.98756915e-4f);
    p = p * r + 1.39819995e-3f;
    p = p * r + 8.3334519e-3f;
    p = p * r + 4.16657959e-2f;
    p = p * r + 1.66666655e-1f;
    p = p * r + 5.0000001e-1f;
    p = p * r2 + r + 1.0f;
    lorad_sa_i8 bits = (((lorad_sa_i8)shifted - 0x4B400000) + 127) << 23;
    lorad_sa_f8 result = p * (lorad_sa_f8)bits;
    result = lorad_sa_select(too_small, lorad_sa_splat(0.0f), result);
    return lorad_sa_select(too_large, lorad_sa_splat(INFINITY), result);
}

/// Scores of H heads (queries at q + h·dim) against V vectors of eight positions, the softmax numerators of
/// each head (positions ≥ count weigh 0) left in weights[h·32 + i], and each head's (max, sum) in stats.
static inline __attribute__((always_inline)) void lorad_sa_score_block(
    const int H, const int V, const int half, const float *q, int dim, float scale, const void *const keys[4],
    long key_stride, int count, float *weights, float *stats, long stats_stride)
{
    lorad_sa_f8 acc[3][4];
    _Pragma("clang loop unroll(full)") for (int h = 0; h < H; h++)
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) acc[h][v] = lorad_sa_splat(0.0f);
    for (int d = 0; d < dim; d++) {
        lorad_sa_f8 k[4];
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) k[v] = lorad_sa_load_any((const char *)keys[v] + (half ? 2 : 4) * d * key_stride, half);
        _Pragma("clang loop unroll(full)") for (int h = 0; h < H; h++) {
            lorad_sa_f8 w = lorad_sa_splat(q[h * dim + d]);
            _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) acc[h][v] = acc[h][v] + w * k[v];
        }
    }
    const lorad_sa_i8 lanes = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int h = 0; h < H; h++) {
        lorad_sa_f8 largest = lorad_sa_splat(-INFINITY);
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) {
            acc[h][v] = lorad_sa_select(lanes + 8 * v < count, acc[h][v] * scale, lorad_sa_splat(-INFINITY));
            largest = __builtin_elementwise_max(largest, acc[h][v]);
        }
        float m = __builtin_reduce_max(largest);
        lorad_sa_f8 sum = lorad_sa_splat(0.0f);
        _Pragma("clang loop unroll(full)") for (int v = 0; v < V; v++) {
            lorad_sa_f8 e = lorad_sa_exp(acc[h][v] - m);
            sum += e;
            lorad_sa_store(weights + h * LORAD_SEGMENT_POSITIONS + 8 * v, e);
        }
        stats[h * stats_stride] = m;
        stats[h * stats_stride + 1] = lorad_sa_sum(sum);
    }
}

/// out[c ..< c + 8C] = Σ_i weights[i] · values(i)[c ..< c + 8C] for one head. One head and up to 64 columns at a
/// time, so the first head's sweep reads each value row whole, once, and the group's other heads find the rows in
/// L1 (three heads at 32 columns each read every row twice from memory and measured 16–18% slower).
static inline __attribute__((always_inline)) void lorad_sa_value_block(
    const int C, const int half, int column, int dim, const void *const values[4], int count, const float *weights,
    float *out)
{
    lorad_sa_f8 acc[8];
    _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) acc[c] = lorad_sa_splat(0.0f);
    for (int i = 0; i < count; i++) {
        const char *row = (const char *)values[i >> 3] + (half ? 2 : 4) * ((i & 7) * dim + column);
        lorad_sa_f8 w = lorad_sa_splat(weights[i]);
        _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++)
            acc[c] = acc[c] + w * lorad_sa_load_any(row + (half ? 16 : 32) * c, half);
    }
    _Pragma("clang loop unroll(full)") for (int c = 0; c < C; c++) lorad_sa_store(out + column + 8 * c, acc[c]);
}

#define LORAD_SA_SCORE_CASE(h, v) case (h) * 8 + (v): \
    lorad_sa_score_block(h, v, half, q, dim, scale, keys, key_stride, count, weights, stats, stats_stride); break;
#define LORAD_SA_VALUE_CASE(c) case c: \
    lorad_sa_value_block(c, half, column, dim, values, count, weights + h * LORAD_SEGMENT_POSITIONS, out + h * out_stride); break;

/// Heads [0, H) with H ≤ 3: scores and softmax numerators together, then the weighted values head by head.
static inline __attribute__((always_inline)) void lorad_sa_head_group(
    int H, const int half, const float *q, int dim, float scale, const void *const keys[4], long key_stride,
    const void *const values[4], int count, float *out, long out_stride, float *stats, long stats_stride)
{
    float weights[3 * LORAD_SEGMENT_POSITIONS];
    const int vectors = (count + 7) / 8;
    switch (H * 8 + vectors) {
        LORAD_SA_SCORE_CASE(1, 1) LORAD_SA_SCORE_CASE(1, 2) LORAD_SA_SCORE_CASE(1, 3) LORAD_SA_SCORE_CASE(1, 4)
        LORAD_SA_SCORE_CASE(2, 1) LORAD_SA_SCORE_CASE(2, 2) LORAD_SA_SCORE_CASE(2, 3) LORAD_SA_SCORE_CASE(2, 4)
        LORAD_SA_SCORE_CASE(3, 1) LORAD_SA_SCORE_CASE(3, 2) LORAD_SA_SCORE_CASE(3, 3) LORAD_SA_SCORE_CASE(3, 4)
        default: return;
    }
    for (int h = 0; h < H; h++) {
        int column = 0;
        while (column < dim - 7) {
            int c = (dim - column) / 8;
            if (c > 8) c = 8;
            switch (c) {
                LORAD_SA_VALUE_CASE(1) LORAD_SA_VALUE_CASE(2) LORAD_SA_VALUE_CASE(3) LORAD_SA_VALUE_CASE(4)
                LORAD_SA_VALUE_CASE(5) LORAD_SA_VALUE_CASE(6) LORAD_SA_VALUE_CASE(7) LORAD_SA_VALUE_CASE(8)
                default: return;
            }
            column += 8 * c;
        }
        for (; column < dim; column++) {
            float s = 0;
            for (int i = 0; i < count; i++)
                s += weights[h * LORAD_SEGMENT_POSITIONS + i] * lorad_sa_scalar_any(values[i >> 3], (i & 7) * dim + column, half);
            out[h * out_stride + column] = s;
        }
    }
}

static inline __attribute__((always_inline)) void lorad_sa_attend(
    const int half, const float *queries, int heads, int dim, float scale, const void *const keys[4], long key_stride,
    const void *const values[4], int count, float *out, long out_stride, float *stats, long stats_stride)
{
    if (count < 1 || count > LORAD_SEGMENT_POSITIONS || dim < 1) return;
    int h = 0;
    // Three heads at a time fill the sixteen vector registers; a group of four or two goes two at a time.
    while (heads - h > 0) {
        int group = heads - h >= 3 && heads - h != 4 ? 3 : (heads - h >= 2 ? 2 : 1);
        lorad_sa_head_group(group, half, queries + h * dim, dim, scale, keys, key_stride, values, count,
                            out + h * out_stride, out_stride, stats + h * stats_stride, stats_stride);
        h += group;
    }
}

void lorad_attend_segment(
    const float *queries, int heads, int dim, float scale, const void *const keys[4], long key_stride,
    const void *const values[4], int half, int count, float *out, long out_stride, float *stats, long stats_stride)
{
    if (half)
        lorad_sa_attend(1, queries, heads, dim, scale, keys, key_stride, values, count, out, out_stride, stats, stats_stride);
    else
        lorad_sa_attend(0, queries, heads, dim, scale, keys, key_stride, values, count, out, out_stride, stats, stats_stride);
}

#pragma clang diagnostic pop
