/// `y (T×out) = x (T×in) · Wᵀ` for a handful of rows T, streaming W once.
///
/// OpenBLAS's sgemm packs W for every call, which costs more than the product itself when T is small, and decode
/// is bound by reading W. This kernel reads W in place, in register blocks of fused multiply-adds over SIMD8
/// accumulators: 3 weight rows × 3 token rows for T ≥ 3 (9 independent FMA chains), else 4 weight rows × 2 or
/// × 1. Each weight byte comes from memory once per call. Workers take disjoint bands of weight rows.
///
/// Every output element is accumulated in the same order whatever the block it falls in (one SIMD8
/// accumulator over k, a horizontal sum, then the scalar tail), so a row's result does not depend on how many
/// other rows share the call.
public enum SmallBatchGEMM {
    /// `y = x·Wᵀ` (or `y += x·Wᵀ` when `accumulate`).
    public static func multiply(
        _ weight: Matrix, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let inDim = weight.cols
        let w = UncheckedSendableBox(UnsafePointer(weight.pointer))
        let xb = UncheckedSendableBox(x), yb = UncheckedSendableBox(y)
        // At least ~32 KiB of weights per band: the WorkerPool hand-off costs about a microsecond.
        let grain = max(8, 8_192 / max(inDim, 1))
        ParallelFor.ranges(count: weight.rows, grain: grain) { band in
            let kernel = Kernel(w: w.value, inDim: inDim, x: xb.value, ldx: ldx, y: yb.value, ldy: ldy, accumulate: accumulate)
            if rows >= 3 { kernel.wide(band: band, rows: rows) } else { kernel.blocked(band: band, rows: rows) }
        }
    }
}

/// The register-blocked loops of `SmallBatchGEMM` over one band of weight rows.
private struct Kernel {
    let w: UnsafePointer<Float>
    let inDim: Int
    let x: UnsafePointer<Float>
    let ldx: Int
    let y: UnsafeMutablePointer<Float>
    let ldy: Int
    let accumulate: Bool

    var vectorEnd: Int { inDim & ~7 }

    @inline(__always)
    func store(_ value: Float, row t: Int, col o: Int) {
        let p = y + t * ldy + o
        if accumulate { p.pointee += value } else { p.pointee = value }
    }

    @inline(__always)
    func wRow(_ o: Int) -> UnsafeRawPointer { UnsafeRawPointer(w + o * inDim) }

    @inline(__always)
    func xRow(_ t: Int) -> UnsafeRawPointer { UnsafeRawPointer(x + t * ldx) }

    @inline(__always)
    func load(_ p: UnsafeRawPointer, _ k: Int) -> SIMD8<Float> { p.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self) }

    @inline(__always)
    func scalar(_ p: UnsafeRawPointer, _ k: Int) -> Float { p.load(fromByteOffset: k * 4, as: Float.self) }

    /// One output element, in the same order as the blocked paths.
    func single(o: Int, t: Int) {
        let wr = wRow(o), xr = xRow(t)
        var acc = SIMD8<Float>()
        var k = 0
        while k < vectorEnd { acc = acc.addingProduct(load(wr, k), load(xr, k)); k += 8 }
        var s = acc.sum()
        while k < inDim { s += scalar(wr, k) * scalar(xr, k); k += 1 }
        store(s, row: t, col: o)
    }

    /// T ≥ 3: 3 weight rows × 3 token rows, 9 accumulators (more independent FMA chains than 4 × 2, still no
    /// spills), then 3 × 1 for leftover token rows.
    func wide(band: Range<Int>, rows: Int) {
        var o = band.lowerBound
        while o + 3 <= band.upperBound {
            let w0 = wRow(o), w1 = wRow(o + 1), w2 = wRow(o + 2)
            var t = 0
            while t + 3 <= rows {
                let x0 = xRow(t), x1 = xRow(t + 1), x2 = xRow(t + 2)
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
                var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
                var k = 0
                while k < vectorEnd {
                    let r0 = load(w0, k), r1 = load(w1, k), r2 = load(w2, k)
                    let v0 = load(x0, k)
                    a00 = a00.addingProduct(r0, v0); a10 = a10.addingProduct(r1, v0); a20 = a20.addingProduct(r2, v0)
                    let v1 = load(x1, k)
                    a01 = a01.addingProduct(r0, v1); a11 = a11.addingProduct(r1, v1); a21 = a21.addingProduct(r2, v1)
                    let v2 = load(x2, k)
                    a02 = a02.addingProduct(r0, v2); a12 = a12.addingProduct(r1, v2); a22 = a22.addingProduct(r2, v2)
                    k += 8
                }
                var s = (a00.sum(), a01.sum(), a02.sum(), a10.sum(), a11.sum(), a12.sum(), a20.sum(), a21.sum(), a22.sum())
                while k < inDim {
                    let r0 = scalar(w0, k), r1 = scalar(w1, k), r2 = scalar(w2, k)
                    let v0 = scalar(x0, k), v1 = scalar(x1, k), v2 = scalar(x2, k)
                    s.0 += r0 * v0; s.1 += r0 * v1; s.2 += r0 * v2
                    s.3 += r1 * v0; s.4 += r1 * v1; s.5 += r1 * v2
                    s.6 += r2 * v0; s.7 += r2 * v1; s.8 += r2 * v2
                    k += 1
                }
                store(s.0, row: t, col: o); store(s.1, row: t + 1, col: o); store(s.2, row: t + 2, col: o)
                store(s.3, row: t, col: o + 1); store(s.4, row: t + 1, col: o + 1); store(s.5, row: t + 2, col: o + 1)
                store(s.6, row: t, col: o + 2); store(s.7, row: t + 1, col: o + 2); store(s.8, row: t + 2, col: o + 2)
                t += 3
            }
            while t < rows {
                let x0 = xRow(t)
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>()
                var k = 0
                while k < vectorEnd {
                    let v = load(x0, k)
                    a0 = a0.addingProduct(load(w0, k), v)
                    a1 = a1.addingProduct(load(w1, k), v)
                    a2 = a2.addingProduct(load(w2, k), v)
                    k += 8
                }
                var s = (a0.sum(), a1.sum(), a2.sum())
                while k < inDim {
                    let v = scalar(x0, k)
                    s.0 += scalar(w0, k) * v; s.1 += scalar(w1, k) * v; s.2 += scalar(w2, k) * v
                    k += 1
                }
                store(s.0, row: t, col: o); store(s.1, row: t, col: o + 1); store(s.2, row: t, col: o + 2)
                t += 1
            }
            o += 3
        }
        while o < band.upperBound {
            for t in 0..<rows { single(o: o, t: t) }
            o += 1
        }
    }

    /// 4 weight rows × 2 token rows (8 accumulators + 6 loads fit the 16 AVX registers with no spills; a
    /// 3 × 4 block spills), then × 1 for an odd last row.
    func blocked(band: Range<Int>, rows: Int) {
        var o = band.lowerBound
        while o + 4 <= band.upperBound {
            let w0 = wRow(o), w1 = wRow(o + 1), w2 = wRow(o + 2), w3 = wRow(o + 3)
            var t = 0
            while t + 2 <= rows {
                let x0 = xRow(t), x1 = xRow(t + 1)
                var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a10 = SIMD8<Float>(), a11 = SIMD8<Float>()
                var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a30 = SIMD8<Float>(), a31 = SIMD8<Float>()
                var k = 0
                while k < vectorEnd {
                    let v0 = load(x0, k), v1 = load(x1, k)
                    let r0 = load(w0, k)
                    a00 = a00.addingProduct(r0, v0); a01 = a01.addingProduct(r0, v1)
                    let r1 = load(w1, k)
                    a10 = a10.addingProduct(r1, v0); a11 = a11.addingProduct(r1, v1)
                    let r2 = load(w2, k)
                    a20 = a20.addingProduct(r2, v0); a21 = a21.addingProduct(r2, v1)
                    let r3 = load(w3, k)
                    a30 = a30.addingProduct(r3, v0); a31 = a31.addingProduct(r3, v1)
                    k += 8
                }
                var s = (a00.sum(), a10.sum(), a20.sum(), a30.sum(), a01.sum(), a11.sum(), a21.sum(), a31.sum())
                while k < inDim {
                    let v0 = scalar(x0, k), v1 = scalar(x1, k)
                    let r0 = scalar(w0, k), r1 = scalar(w1, k), r2 = scalar(w2, k), r3 = scalar(w3, k)
                    s.0 += r0 * v0; s.1 += r1 * v0; s.2 += r2 * v0; s.3 += r3 * v0
                    s.4 += r0 * v1; s.5 += r1 * v1; s.6 += r2 * v1; s.7 += r3 * v1
                    k += 1
                }
                store(s.0, row: t, col: o); store(s.1, row: t, col: o + 1); store(s.2, row: t, col: o + 2); store(s.3, row: t, col: o + 3)
                store(s.4, row: t + 1, col: o); store(s.5, row: t + 1, col: o + 1); store(s.6, row: t + 1, col: o + 2); store(s.7, row: t + 1, col: o + 3)
                t += 2
            }
            if t < rows {
                let x0 = xRow(t)
                var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                var k = 0
                while k < vectorEnd {
                    let v = load(x0, k)
                    a0 = a0.addingProduct(load(w0, k), v)
                    a1 = a1.addingProduct(load(w1, k), v)
                    a2 = a2.addingProduct(load(w2, k), v)
                    a3 = a3.addingProduct(load(w3, k), v)
                    k += 8
                }
                var s = (a0.sum(), a1.sum(), a2.sum(), a3.sum())
                while k < inDim {
                    let v = scalar(x0, k)
                    s.0 += scalar(w0, k) * v; s.1 += scalar(w1, k) * v; s.2 += scalar(w2, k) * v; s.3 += scalar(w3, k) * v
                    k += 1
                }
                store(s.0, row: t, col: o); store(s.1, row: t, col: o + 1); store(s.2, row: t, col: o + 2); store(s.3, row: t, col: o + 3)
            }
            o += 4
        }
        while o < band.upperBound {
            for t in 0..<rows { single(o: o, t: t) }
            o += 1
        }
    }
}
