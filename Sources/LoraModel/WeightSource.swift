import LoraNumerics

/// Where a model's tensors come from: checkpoint files on disk, or random values for tests and benchmarks.
public protocol WeightSource {
    /// The tensor `name` as f32, which must have exactly `shape`; throws `missingTensor` or `wrongShape`.
    func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer
    /// The tensor `name` as stored when that is bf16 or f16 (nil for any other format: ask `tensor` then),
    /// with the checks of `tensor`.
    func halfPrecisionTensor(_ name: String, shape: [Int]) throws -> HalfPrecisionTensor?
    /// Whether the source holds a tensor of that name.
    func contains(_ name: String) -> Bool
    /// Names of tensors never requested so far (for detecting tensors the config does not explain).
    func unusedTensorNames() -> [String]
    /// Accepts a tensor the model deliberately ignores (a tied checkpoint's copy of `lm_head`): checks its
    /// shape when present, without reading or converting it.
    func ignore(_ name: String, shape: [Int]) throws
    /// The file holding tensor `name`, for error messages; nil when there is none.
    func path(of name: String) -> String?
}

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

    /// The values widened to f32 (exact).
    public func widened() -> FloatBuffer {
        let out = FloatBuffer(uninitializedCount: count)
        if element == .bfloat16 {
            HalfPrecision.convertBFloat16(bits, to: out.pointer, count: count)
        } else {
            HalfPrecision.convertFloat16(bits, to: out.pointer, count: count)
        }
        return out
    }
}
