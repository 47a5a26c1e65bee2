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

extension WeightSource {
    /// Sources that never hold 16-bit tensors need not implement it.
    public func halfPrecisionTensor(_ name: String, shape: [Int]) throws -> HalfPrecisionTensor? { nil }
}
