/// The two inner loops of decode attention, over keys and values stored back to back with stride `dim`.
///
/// A decode step scores one query against every cached position of its head; calling a generic dot product
/// per key spent more time in the call, the tail loops and the horizontal sum than in the multiplies. These
/// loops take four keys at a time (four independent FMA chains) and keep the output row in registers while
/// they sweep the values.
public enum DecodeAttention {
    /// `scores[i] = scale · ⟨query, keys[i]⟩` for `count` keys.
    public static func score(
        query: UnsafePointer<Float>, keys: UnsafePointer<Float>, count: Int, dim: Int, scale: Float,
        into scores: UnsafeMutablePointer<Float>
    ) {
        guard dim % 8 == 0 else {
            for i in 0..<count { scores[i] = scale * VectorOps.dot(query, keys + i * dim, dim) }
            return
        }
        let q = UnsafeRawPointer(query)
        let rowBytes = dim * 4
        var i = 0
        while i + 4 <= count {
            let k0 = UnsafeRawPointer(keys + i * dim)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var offset = 0
            while offset < rowBytes {
                let qv = q.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                a0 = a0.addingProduct(qv, k0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
                a1 = a1.addingProduct(qv, k0.loadUnaligned(fromByteOffset: rowBytes + offset, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(qv, k0.loadUnaligned(fromByteOffset: 2 * rowBytes + offset, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(qv, k0.loadUnaligned(fromByteOffset: 3 * rowBytes + offset, as: SIMD8<Float>.self))
                offset += 32
            }
            scores[i] = scale * a0.sum()
            scores[i + 1] = scale * a1.sum()
            scores[i + 2] = scale * a2.sum()
            scores[i + 3] = scale * a3.sum()
            i += 4
        }
        while i < count {
            let k0 = UnsafeRawPointer(keys + i * dim)
            var a0 = SIMD8<Float>()
            var offset = 0
            while offset < rowBytes {
                a0 = a0.addingProduct(
                    q.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self),
                    k0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
                offset += 32
            }
            scores[i] = scale * a0.sum()
            i += 1
        }
    }

    /// `score` for three query heads that share one kv head (grouped-query attention): head `h`'s query at
    /// `queries + h·dim`, its scores at `scores + h·scoreStride`. Each key is loaded once for the three heads, and
    /// each score is formed exactly as `score` forms it (the same chain over the dimensions, the same sum), so
    /// the results are equal bit for bit.
    public static func scoreThreeHeads(
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, count: Int, dim: Int, scale: Float,
        into scores: UnsafeMutablePointer<Float>, scoreStride: Int
    ) {
        guard dim % 8 == 0 else {
            for h in 0..<3 {
                score(query: queries + h * dim, keys: keys, count: count, dim: dim, scale: scale, into: scores + h * scoreStride)
            }
            return
        }
        let q0 = UnsafeRawPointer(queries), q1 = UnsafeRawPointer(queries + dim), q2 = UnsafeRawPointer(queries + 2 * dim)
        let s0 = scores, s1 = scores + scoreStride, s2 = scores + 2 * scoreStride
        let rowBytes = dim * 4
        var i = 0
        while i + 4 <= count {
            let k = UnsafeRawPointer(keys + i * dim)
            var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>(), a03 = SIMD8<Float>()
            var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>(), a13 = SIMD8<Float>()
            var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>(), a23 = SIMD8<Float>()
            var offset = 0
            while offset < rowBytes {
                let u0 = q0.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                let u1 = q1.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                let u2 = q2.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                var kv = k.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
                a00 = a00.addingProduct(u0, kv); a10 = a10.addingProduct(u1, kv); a20 = a20.addingProduct(u2, kv)
                kv = k.loadUnaligned(fromByteOffset: rowBytes + offset, as: SIMD8<Float>.self)
                a01 = a01.addingProduct(u0, kv); a11 = a11.addingProduct(u1, kv); a21 = a21.addingProduct(u2, kv)
                kv = k.loadUnaligned(fromByteOffset: 2 * rowBytes + offset, as: SIMD8<Float>.self)
                a02 = a02.addingProduct(u0, kv); a12 = a12.addingProduct(u1, kv); a22 = a22.addingProduct(u2, kv)
                kv = k.loadUnaligned(fromByteOffset: 3 * rowBytes + offset, as: SIMD8<Float>.self)
                a03 = a03.addingProduct(u0, kv); a13 = a13.addingProduct(u1, kv); a23 = a23.addingProduct(u2, kv)
                offset += 32
            }
            s0[i] = scale * a00.sum(); s0[i + 1] = scale * a01.sum(); s0[i + 2] = scale * a02.sum(); s0[i + 3] = scale * a03.sum()
            s1[i] = scale * a10.sum(); s1[i + 1] = scale * a11.sum(); s1[i + 2] = scale * a12.sum(); s1[i + 3] = scale * a13.sum()
            s2[i] = scale * a20.sum(); s2[i + 1] = scale * a21.sum(); s2[i + 2] = scale * a22.sum(); s2[i + 3] = scale * a23.sum()
            i += 4
        }
        if i < count {
            for h in 0..<3 {
                score(query: queries + h * dim, keys: keys + i * dim, count: count - i, dim: dim, scale: scale,
                      into: scores + h * scoreStride + i)
            }
        }
    }

    /// `output += Σ_i weights[i] · values[i]` over `count` value rows.
    public static func accumulate(
        weights: UnsafePointer<Float>, values: UnsafePointer<Float>, count: Int, dim: Int,
        into output: UnsafeMutablePointer<Float>
    ) {
        var column = 0
        let out = UnsafeMutableRawPointer(output)
        // 64 columns at a time: eight accumulators, eight independent chains across the keys.
        while column + 64 <= dim {
            let base = UnsafeRawPointer(values + column)
            let o = column * 4
            var a0 = out.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            var a1 = out.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
            var a2 = out.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
            var a3 = out.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
            var a4 = out.loadUnaligned(fromByteOffset: o + 128, as: SIMD8<Float>.self)
            var a5 = out.loadUnaligned(fromByteOffset: o + 160, as: SIMD8<Float>.self)
            var a6 = out.loadUnaligned(fromByteOffset: o + 192, as: SIMD8<Float>.self)
            var a7 = out.loadUnaligned(fromByteOffset: o + 224, as: SIMD8<Float>.self)
            for i in 0..<count {
                let w = SIMD8<Float>(repeating: weights[i])
                let v = base + i * dim * 4
                a0 = a0.addingProduct(w, v.loadUnaligned(fromByteOffset: 0, as: SIMD8<Float>.self))
                a1 = a1.addingProduct(w, v.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                a2 = a2.addingProduct(w, v.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                a3 = a3.addingProduct(w, v.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                a4 = a4.addingProduct(w, v.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self))
                a5 = a5.addingProduct(w, v.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self))
                a6 = a6.addingProduct(w, v.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self))
                a7 = a7.addingProduct(w, v.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self))
            }
            out.storeBytes(of: a0, toByteOffset: o, as: SIMD8<Float>.self)
            out.storeBytes(of: a1, toByteOffset: o + 32, as: SIMD8<Float>.self)
            out.storeBytes(of: a2, toByteOffset: o + 64, as: SIMD8<Float>.self)
            out.storeBytes(of: a3, toByteOffset: o + 96, as: SIMD8<Float>.self)
            out.storeBytes(of: a4, toByteOffset: o + 128, as: SIMD8<Float>.self)
            out.storeBytes(of: a5, toByteOffset: o + 160, as: SIMD8<Float>.self)
            out.storeBytes(of: a6, toByteOffset: o + 192, as: SIMD8<Float>.self)
            out.storeBytes(of: a7, toByteOffset: o + 224, as: SIMD8<Float>.self)
            column += 64
        }
        while column + 8 <= dim {
            let base = UnsafeRawPointer(values + column)
            let o = column * 4
            var a0 = out.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            for i in 0..<count {
                a0 = a0.addingProduct(SIMD8<Float>(repeating: weights[i]), (base + i * dim * 4).loadUnaligned(as: SIMD8<Float>.self))
            }
            out.storeBytes(of: a0, toByteOffset: o, as: SIMD8<Float>.self)
            column += 8
        }
        while column < dim {
            var s = output[column]
            for i in 0..<count { s += weights[i] * values[i * dim + column] }
            output[column] = s
            column += 1
        }
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
