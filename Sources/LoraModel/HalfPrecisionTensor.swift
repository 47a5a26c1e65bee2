import LoraNumerics

/// A bf16 or f16 tensor as stored: row-major little-endian 16-bit values (not necessarily aligned), valid
/// while `owner` lives.
public struct HalfPrecisionTensor {
    /// `.bfloat16` or `.float16`.
    public let element: PanelElement
    /// The first value.
    public let bits: UnsafeRawPointer
    /// Number of values.
    public let count: Int
    /// Keeps the memory alive (a mapped file, a buffer).
    public let owner: AnyObject

    /// A tensor of `count` values of `element` at `bits`, kept alive by `owner`.
    public init(element: PanelElement, bits: UnsafeRawPointer, count: Int, owner: AnyObject) {
        self.element = element
        self.bits = bits
        self.count = count
        self.owner = owner
    }

    /// The values widened to f32 (exact).
    public func widened() -> FloatBuffer { element.widened(bits, count: count) }
}
