/// `y (T×out) = x (T×in) · Wᵀ` for a handful of rows T, streaming W once.
///
/// OpenBLAS's sgemm packs W for every call, which costs more than the product itself when T is small, and decode
/// is bound by reading W. This kernel reads W in place: each block of 4 weight rows is multiplied with 2 rows of
/// x at a time into 8 SIMD accumulators (fused multiply-adds), so each weight byte comes from memory once and
/// from L1 ⌈T/2⌉ times. Workers take disjoint bands of weight rows.
public enum SmallBatchGEMM {
    /// `y = x·Wᵀ` (or `y += x·Wᵀ` when `accumulate`).
    public static func multiply(
        _ weight: Matrix, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let inDim = weight.cols
        let w = UncheckedSendableBox(UnsafePointer(weight.pointer))
        let xb = UncheckedSendableBox(x), yb = UncheckedSendableBox(y)
        // At least ~128 KiB of weights per band so the hand-off to a worker pays for itself.
        let grain = max(8, 32_768 / max(inDim, 1))
        ParallelFor.ranges(count: weight.rows, grain: grain) { band in
            multiplyBand(w.value, inDim: inDim, band: band, x: xb.value, ldx: ldx, rows: rows, y: yb.value, ldy: ldy, accumulate: accumulate)
        }
    }

    @inline(__always)
    static func store(_ value: Float, _ p: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
        if accumulate { p.pointee += value } else { p.pointee = value }
    }

    static func multiplyBand(
        _ w: UnsafePointer<Float>, inDim: Int, band: Range<Int>, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let vectorEnd = inDim & ~7
        var o = band.lowerBound
        while o + 4 <= band.upperBound {
            let w0 = UnsafeRawPointer(w + o * inDim), w1 = UnsafeRawPointer(w + (o + 1) * inDim)
            let w2 = UnsafeRawPointer(w + (o + 2) * inDim), w3 = UnsafeRawPointer(w + (o + 3) * inDim)
            var t = 0
            while t + 2 <= rows {
                let x0 = UnsafeRawPointer(x + t * ldx), x1 = UnsafeRawPointer(x + (t + 1) * ldx)
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
                var k = 0
                while k < vectorEnd {
                    let b = k * 4
                    let v0 = x0.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    let v1 = x1.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    let r0 = w0.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    a00 = a00.addingProduct(r0, v0); a01 = a01.addingProduct(r0, v1)
                    let r1 = w1.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    a10 = a10.addingProduct(r1, v0); a11 = a11.addingProduct(r1, v1)
                    let r2 = w2.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    a20 = a20.addingProduct(r2, v0); a21 = a21.addingProduct(r2, v1)
                    let r3 = w3.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    a30 = a30.addingProduct(r3, v0); a31 = a31.addingProduct(r3, v1)
                    k += 8
                }
                var s00 = a00.sum(), s10 = a10.sum(), s20 = a20.sum(), s30 = a30.sum()
                var s01 = a01.sum(), s11 = a11.sum(), s21 = a21.sum(), s31 = a31.sum()
                var kk = vectorEnd
                while kk < inDim {
                    let o4 = kk * 4
                    let v0 = x0.load(fromByteOffset: o4, as: Float.self), v1 = x1.load(fromByteOffset: o4, as: Float.self)
                    let r0 = w0.load(fromByteOffset: o4, as: Float.self), r1 = w1.load(fromByteOffset: o4, as: Float.self)
                    let r2 = w2.load(fromByteOffset: o4, as: Float.self), r3 = w3.load(fromByteOffset: o4, as: Float.self)
                    s00 += r0 * v0; s10 += r1 * v0; s20 += r2 * v0; s30 += r3 * v0
                    s01 += r0 * v1; s11 += r1 * v1; s21 += r2 * v1; s31 += r3 * v1
                    kk += 1
                }
                let y0 = y + t * ldy + o, y1 = y + (t + 1) * ldy + o
                store(s00, y0, accumulate); store(s10, y0 + 1, accumulate); store(s20, y0 + 2, accumulate); store(s30, y0 + 3, accumulate)
                store(s01, y1, accumulate); store(s11, y1 + 1, accumulate); store(s21, y1 + 2, accumulate); store(s31, y1 + 3, accumulate)
                t += 2
            }
            if t < rows {
                let x0 = UnsafeRawPointer(x + t * ldx)
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var k = 0
                while k < vectorEnd {
                    let b = k * 4
                    let v = x0.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self)
                    a0 = a0.addingProduct(w0.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self), v)
                    a1 = a1.addingProduct(w1.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self), v)
                    a2 = a2.addingProduct(w2.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self), v)
                    a3 = a3.addingProduct(w3.loadUnaligned(fromByteOffset: b, as: SIMD8<Float>.self), v)
                    k += 8
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                for kk in vectorEnd..<inDim {
                    let xv = x0.load(fromByteOffset: kk * 4, as: Float.self)
                    s0 += w0.load(fromByteOffset: kk * 4, as: Float.self) * xv
                    s1 += w1.load(fromByteOffset: kk * 4, as: Float.self) * xv
                    s2 += w2.load(fromByteOffset: kk * 4, as: Float.self) * xv
                    s3 += w3.load(fromByteOffset: kk * 4, as: Float.self) * xv
                }
                let yr = y + t * ldy + o
                store(s0, yr, accumulate); store(s1, yr + 1, accumulate); store(s2, yr + 2, accumulate); store(s3, yr + 3, accumulate)
            }
            o += 4
        }
        // Leftover weight rows (out not a multiple of 4, or a band edge).
        while o < band.upperBound {
            let wr = w + o * inDim
            for t in 0..<rows { store(VectorOps.dot(wr, x + t * ldx, inDim), y + t * ldy + o, accumulate) }
            o += 1
        }
    }
}
