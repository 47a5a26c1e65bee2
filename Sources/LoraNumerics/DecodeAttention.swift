import CSegmentAttention

/// Decode attention over a paged cache, one segment of positions at a time, and the join of the segments.
///
/// A decode step scores one query against every cached position of its head. With keys stored transposed within
/// a page (dimension-major), eight positions' scores are one vector, so the kernel needs no horizontal sums; it
/// keeps the scores of up to three query heads in registers through the softmax, then sweeps the values head by
/// head (the first head's sweep brings each row from memory, the others read it from L1). The kernel is C
/// (`CSegmentAttention`): Swift spilled its accumulators.
public enum DecodeAttention {
    /// Positions in one segment: the unit of work and of the softmax's partial results.
    public static let segmentPositions = Int(LORAD_SEGMENT_POSITIONS)

    /// One segment of attention for `heads` query heads that share one kv head.
    ///
    /// `keys[v]` points at positions 8v ..< 8v + 8 of the segment, transposed (position 8v + l, dimension d at
    /// element d·keyStride + l); `values[v]` at their value rows (row l at element l·dim). Elements are f32, or
    /// IEEE half precision with `halfPrecision`. Only the vectors covering `count` positions are read; lanes past
    /// `count` are read but weigh nothing. Writes head h's
    /// Σ e_i·v_i at `outputs + h·outputStride` and (m, Σ e_i) at `statistics + h·statisticsStride`, with
    /// e_i = exp(s_i − m) and m the segment's largest score s_i = scale·⟨q_h, k_i⟩ (see `combine`).
    public static func attendSegment(
        queries: UnsafePointer<Float>, heads: Int, dim: Int, scale: Float,
        keys: UnsafePointer<UnsafeRawPointer?>, keyStride: Int, values: UnsafePointer<UnsafeRawPointer?>,
        halfPrecision: Bool = false, count: Int,
        outputs: UnsafeMutablePointer<Float>, outputStride: Int, statistics: UnsafeMutablePointer<Float>, statisticsStride: Int
    ) {
        precondition((1...segmentPositions).contains(count) && heads > 0 && dim > 0, "segment of \(count) positions, \(heads) heads, dim \(dim)")
        lorad_attend_segment(queries, Int32(heads), Int32(dim), scale, keys, keyStride, values, halfPrecision ? 1 : 0,
                             Int32(count), outputs, outputStride, statistics, statisticsStride)
    }

    /// Joins the partial results of attention over positions split into segments. Segment g left
    /// `partials + g·dim` = Σ e_i·v_i over its positions, with e_i = exp(s_i − m_g), and `statistics[2g]` = m_g,
    /// `statistics[2g + 1]` = Σ e_i (see `Softmax.exponentiate`). Writes Σ_g w_g·o_g / Σ_g w_g·l_g with
    /// w_g = exp(m_g − M), M the largest m_g: the softmax-weighted sum over every position, formed in segment
    /// order so the result depends only on the segments, not on which core computed them.
    public static func combine(
        partials: UnsafePointer<Float>, statistics: UnsafePointer<Float>, segments: Int, dim: Int,
        into output: UnsafeMutablePointer<Float>
    ) {
        guard segments > 0 else { return }
        var largest = -Float.infinity
        for g in 0..<segments { largest = max(largest, statistics[2 * g]) }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: segments) { weights in
            var total: Float = 0
            for g in 0..<segments {
                let m = statistics[2 * g]
                // exp(0) is 1 exactly; spelling it out keeps a single segment an exact division by its sum.
                weights[g] = m == largest ? 1 : FastExp.exp(m - largest)
                total += weights[g] * statistics[2 * g + 1]
            }
            let inverse = 1 / total
            output.update(repeating: 0, count: dim)
            let out = UnsafeMutableRawPointer(output)
            for g in 0..<segments {
                let w = weights[g] * inverse, wv = SIMD8<Float>(repeating: w)
                let o = UnsafeRawPointer(partials + g * dim)
                var c = 0
                while c + 8 <= dim {
                    let sum = out.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self)
                        .addingProduct(wv, o.loadUnaligned(fromByteOffset: c * 4, as: SIMD8<Float>.self))
                    out.storeBytes(of: sum, toByteOffset: c * 4, as: SIMD8<Float>.self)
                    c += 8
                }
                while c < dim {
                    output[c] = output[c].addingProduct(w, partials[g * dim + c])
                    c += 1
                }
            }
        }
    }
}
