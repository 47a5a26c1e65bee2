/// How a model keeps the weights of its linear layers in memory.
public enum WeightPrecision: String, Sendable, CaseIterable {
    /// As the checkpoint stores them: bf16 and f16 stay 16-bit (widened exactly inside the kernel, so the
    /// results are those of `float32` at half the memory and nearly twice the decode speed); f32 stays f32.
    case asStored
    /// Always f32 (tests compare the two; nothing else needs it).
    case float32
}
