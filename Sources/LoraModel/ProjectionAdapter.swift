import LoraNumerics

/// What the forward pass asks of an active adapter set for each fused projection of each layer: a merged
/// weight to use instead of the base one, and/or an unmerged low-rank delta to add to the output.
public protocol ProjectionAdapter: Sendable {
    /// A private weight `W + Σ sᵢ·Bᵢ·Aᵢ` for this projection, or nil to use the base weight.
    func mergedWeight(layer: Int, slot: FusedLinear) -> PanelMatrix?
    /// Adds `x · A_catᵀ · B_catᵀ` to the projection output `y` (rows × fused width, row stride `ldy`).
    func addDelta(layer: Int, slot: FusedLinear, x: UnsafePointer<Float>, ldx: Int, rows: Int, y: UnsafeMutablePointer<Float>, ldy: Int)
}
