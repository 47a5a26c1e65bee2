import Foundation

/// The SwiGLU gate of the Llama MLP.
public enum Activation {
    /// `silu(x) = x · sigmoid(x)`.
    @inlinable
    public static func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

    /// For each of `rows` rows of `gateUp` (row stride `ld`, gate in columns `0..<dim`, up in `dim..<2·dim`),
    /// writes `silu(gate) · up` into `out` (row stride `ldo`).
    public static func siluGate(
        gateUp: UnsafePointer<Float>, ld: Int, out: UnsafeMutablePointer<Float>, ldo: Int, rows: Int, dim: Int
    ) {
        for r in 0..<rows {
            let g = gateUp + r * ld
            let u = g + dim
            let o = out + r * ldo
            for i in 0..<dim {
                o[i] = silu(g[i]) * u[i]
            }
        }
    }
}
