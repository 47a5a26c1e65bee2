import LoraNumerics

/// Deterministic random tensors of any requested shape, for tests and benchmarks that need a model of a given
/// size without a checkpoint. Matrices are uniform in ±1/√cols so activations stay in a sane range; vectors
/// (norm weights) are near 1. With a 16-bit `element` the values are rounded to that format and offered as
/// stored, like a bf16 or f16 checkpoint.
public final class RandomWeights: WeightSource {
    private var state: UInt64
    /// The format the source pretends to store its tensors in.
    public let element: PanelElement

    /// A source whose tensors depend only on `seed`, `element` and the order of requests.
    public init(seed: UInt64, element: PanelElement = .float32) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
        self.element = element
    }

    public func contains(_ name: String) -> Bool { true }
    public func unusedTensorNames() -> [String] { [] }
    public func ignore(_ name: String, shape: [Int]) throws {}
    public func path(of name: String) -> String? { nil }

    public func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer {
        let count = shape.reduce(1, *)
        let out = FloatBuffer(count: count)
        let p = out.pointer
        fill(shape) { i, value in p[i] = element.widen(bits: element.bits(rounding: value)) }
        return out
    }

    public func halfPrecisionTensor(_ name: String, shape: [Int]) throws -> HalfPrecisionTensor? {
        guard element != .float32 else { return nil }
        let count = shape.reduce(1, *)
        let buffer = FloatBuffer(count: (count + 1) / 2)
        let bytes = UnsafeMutableRawPointer(buffer.pointer)
        fill(shape) { i, value in
            bytes.storeBytes(of: UInt16(truncatingIfNeeded: element.bits(rounding: value)).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
        return HalfPrecisionTensor(element: element, bits: UnsafeRawPointer(bytes), count: count, owner: buffer)
    }

    /// Calls `body(i, value)` for every element, in order.
    private func fill(_ shape: [Int], _ body: (Int, Float) -> Void) {
        let count = shape.reduce(1, *)
        if shape.count == 1 {
            for i in 0..<count { body(i, 1 + 0.1 * nextSigned()) }
        } else {
            let scale = 1 / Float(max(shape.last ?? 1, 1)).squareRoot()
            for i in 0..<count { body(i, scale * nextSigned()) }
        }
    }

    /// Uniform in [-1, 1) from a xorshift64* generator.
    private func nextSigned() -> Float {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
        return Float(bits) * 0x1p-23 - 1
    }
}
