// Decode attention over one segment of cached positions (see segment_attention.c).
#ifndef LORAD_SEGMENT_ATTENTION_H
#define LORAD_SEGMENT_ATTENTION_H

/// Positions in one segment: four vectors of eight.
#define LORAD_SEGMENT_POSITIONS 32

/// One segment of decode attention for `heads` query heads sharing one kv head.
///
/// - queries: head h's query at queries + h·dim.
/// - keys[v]: positions 8v ..< 8v + 8 of the segment, transposed: position 8v + l, dimension d at element
///   d·key_stride + l of keys[v]. Only the vectors covering `count` positions are read; their lanes past `count`
///   are read but weigh nothing, so they must be readable memory.
/// - values[v]: the value rows of positions 8v ..< 8v + 8, row l at element l·dim of values[v].
/// - half: elements of keys and values are f32 (0) or IEEE half precision (1).
/// - count: valid positions, 1...32.
/// Writes head h's Σ e_i·v_i (dim floats) at out + h·out_stride and (m, Σ e_i) at stats + h·stats_stride, with
/// e_i = exp(s_i − m), m the segment's largest score: partial results for a later join over segments.
void lorad_attend_segment(
    const float *queries, int heads, int dim, float scale, const void *const keys[4], long key_stride,
    const void *const values[4], int half, int count, float *out, long out_stride, float *stats, long stats_stride);

#endif
