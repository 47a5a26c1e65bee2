/// How the KV cache stores keys and values.
public enum KVCachePrecision: String, Sendable, CaseIterable {
    /// f32: exactly what the model computed. The default, and what the reference comparisons hold to.
    case f32
    /// IEEE half precision (about three significant digits, magnitudes up to 65504), as llama.cpp keeps its cache
    /// by default: half the memory per position, and half the bytes decode attention reads at long contexts and
    /// large batches. Values beyond ±65504 are stored as ±65504 rather than infinity.
    case f16

    /// Bytes of one stored element.
    public var elementBytes: Int { self == .f32 ? 4 : 2 }
}
