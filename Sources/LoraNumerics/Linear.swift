/// Linear layers: `y (T×out) = x (T×in) · Wᵀ` for a weight `W (out×in)` stored as Hugging Face stores it.
///
/// One call covers every new token of a ragged batch. Many-token calls go to `cblas_sgemm`; small batches
/// (decode) take a threaded matrix-vector path that streams `W` once for all rows of `x`, because OpenBLAS's
/// sgemm is slow for a handful of rows and decode is bound by reading the weights.
public enum Linear {
    /// Largest `T` served by the streaming small-batch kernel; larger batches use sgemm.
    public static let smallBatchLimit = 16

    /// `y = x · Wᵀ` (or `y += x · Wᵀ` when `accumulate`). `x` has row stride `ldx`, `y` row stride `ldy`.
    public static func apply(
        _ weight: Matrix, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        if rows <= smallBatchLimit {
            streaming(weight, x: x, ldx: ldx, rows: rows, y: y, ldy: ldy, accumulate: accumulate)
        } else {
            BLAS.sgemmParallel(
                transB: true, m: rows, n: weight.rows, k: weight.cols, alpha: 1,
                a: x, lda: ldx, b: weight.pointer, ldb: weight.cols,
                beta: accumulate ? 1 : 0, c: y, ldc: ldy)
        }
    }

    /// The small-batch path (see `SmallBatchGEMM`).
    public static func streaming(
        _ weight: Matrix, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        SmallBatchGEMM.multiply(weight, x: x, ldx: ldx, rows: rows, y: y, ldy: ldy, accumulate: accumulate)
    }
}
