/// `y (T×out) += t (T×R) · Bᵀᵀ` for a low-rank B stored transposed as `Bt (R×out)`: the second half of an
/// unmerged LoRA delta.
///
/// R is small (8–64), so the dot-product form would spend its time in horizontal sums; instead each row of y
/// takes R scaled rows of `Bt` (`axpy`), which vectorizes fully and reads `Bt` from cache.
public enum LowRankUpdate {
    /// Largest row count served by the axpy form; more rows go to sgemm.
    static let smallBatchLimit = 16

    /// Adds `t · Bt` into `y`. `t` has row stride `ldt`, `y` row stride `ldy`.
    public static func accumulate(
        _ bt: Matrix, t: UnsafePointer<Float>, ldt: Int, rows: Int, y: UnsafeMutablePointer<Float>, ldy: Int
    ) {
        guard rows > 0 else { return }
        let rank = bt.rows, out = bt.cols
        if rows > Self.smallBatchLimit {
            BLAS.sgemmParallel(transB: false, m: rows, n: out, k: rank, alpha: 1,
                       a: t, lda: ldt, b: bt.pointer, ldb: out, beta: 1, c: y, ldc: ldy)
            return
        }
        let b = UncheckedSendableBox(UnsafePointer(bt.pointer))
        let tb = UncheckedSendableBox(t), yb = UncheckedSendableBox(y)
        // Split the output columns when the work is worth a second core.
        let grain = max(64, 16_384 / max(rank * rows, 1))
        ParallelFor.ranges(count: out, grain: grain) { columns in
            let width = columns.count
            for row in 0..<rows {
                let yr = yb.value + row * ldy + columns.lowerBound
                let tr = tb.value + row * ldt
                for r in 0..<rank {
                    VectorOps.axpy(tr[r], b.value + r * out + columns.lowerBound, yr, width)
                }
            }
        }
    }
}
