import Foundation

/// Root-mean-square layer norm as Llama defines it: `y = x · rsqrt(mean(x²) + eps) · weight`.
public enum RMSNorm {
    /// Normalizes `rows` rows of `dim` floats from `x` (row stride `ldx`) into `y` (row stride `ldy`).
    /// `x` and `y` may be the same memory.
    public static func apply(
        x: UnsafePointer<Float>, ldx: Int, weight: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, ldy: Int,
        rows: Int, dim: Int, eps: Float
    ) {
        for r in 0..<rows {
            let xr = x + r * ldx
            let yr = y + r * ldy
            let meanSquare = VectorOps.sumOfSquares(xr, dim) / Float(dim)
            let scale = 1 / (meanSquare + eps).squareRoot()
            for i in 0..<dim {
                yr[i] = weight[i] * (xr[i] * scale)
            }
        }
    }
}
