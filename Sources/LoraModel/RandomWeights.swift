import LoraNumerics

/// Deterministic random tensors of any requested shape, for tests and benchmarks that need a model of a given
/// size without a checkpoint. Matrices are uniform in ±1/√cols so activations stay in a sane range; vectors
/// (norm weights) are near 1.
public final class RandomWeights: WeightSource {
    private var state: UInt64

    /// A source whose tensors depend only on `seed` and the order of requests.
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    public func contains(_ name: String) -> Bool { true }
    public func unusedTensorNames() -> [String] { [] }
    public func ignore(_ name: String, shape: [Int]) throws {}
    public func path(of name: String) -> String? { nil }

    public func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer {
        let count = shape.reduce(1, *)
        let out = FloatBuffer(count: count)
        let p = out.pointer
        if shape.count == 1 {
            for i in 0..<count { p[i] = 1 + 0.1 * nextSigned() }
        } else {
            let scale = 1 / Float(max(shape.last ?? 1, 1)).squareRoot()
            for i in 0..<count { p[i] = scale * nextSigned() }
        }
        return out
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
