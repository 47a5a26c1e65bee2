/// Linear layers: `y (T×out) = x (T×in) · Wᵀ` for a weight `W (out×in)` stored in panels (`PanelMatrix`).
///
/// One call covers every new token of a ragged batch, one decode token or a 512-token prefill chunk alike:
/// `PanelGEMM` reads the weights once per block of rows, so it streams them at memory speed for a single row
/// and runs at the sgemm peak for hundreds (`lorad-bench kernels` measures both against OpenBLAS).
public enum Linear {
    /// `y = x · Wᵀ` (or `y += x · Wᵀ` when `accumulate`). `x` has row stride `ldx`, `y` row stride `ldy`.
    public static func apply(
        _ weight: PanelMatrix, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false
    ) {
        guard rows > 0 else { return }
        PanelGEMM.multiply(weight, x: x, ldx: ldx, rows: rows, y: y, ldy: ldy, accumulate: accumulate)
    }
}
