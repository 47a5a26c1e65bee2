/// The number formats a `PanelMatrix` can hold its weights in.
///
/// Checkpoints are mostly bf16 (some f16); widening such a value to f32 is exact, so a matrix can keep the
/// checkpoint's 16-bit values and the kernel widens them in registers: the same f32 products, bit for bit,
/// from half the bytes. Decode is bound by reading the weights, so half the bytes is nearly twice the speed.
/// 16-bit values are stored little-endian, as in a safetensors file (lorad runs on little-endian hosts).
public enum PanelElement: String, Sendable, CaseIterable {
    case float32, bfloat16, float16

    /// Bytes per stored value.
    public var byteSize: Int { self == .float32 ? 4 : 2 }

    /// The stored value with bit pattern `bits` (the low `8·byteSize` bits) as f32, exactly.
    @inlinable
    public func widen(bits: UInt32) -> Float {
        switch self {
        case .float32: return Float(bitPattern: bits)
        case .bfloat16: return HalfPrecision.bfloat16ToFloat(UInt16(truncatingIfNeeded: bits))
        case .float16: return HalfPrecision.float16ToFloat(UInt16(truncatingIfNeeded: bits))
        }
    }

    /// `value` in this format (rounded to nearest even), as its bit pattern: how a checkpoint in this format
    /// is made, for synthesized weights.
    public func bits(rounding value: Float) -> UInt32 {
        switch self {
        case .float32: return value.bitPattern
        case .bfloat16: return UInt32(HalfPrecision.bfloat16Bits(value))
        case .float16: return UInt32(Float16(value).bitPattern)
        }
    }

    /// `count` stored values at `source` (little-endian, any alignment) widened into a new buffer.
    public func widened(_ source: UnsafeRawPointer, count: Int) -> FloatBuffer {
        let out = FloatBuffer(uninitializedCount: count)
        widen(source, to: out.pointer, count: count)
        return out
    }

    /// Widens `count` stored values at `source` (little-endian, any alignment) into `destination`.
    public func widen(_ source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .float32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bfloat16: HalfPrecision.convertBFloat16(source, to: destination, count: count)
        case .float16: HalfPrecision.convertFloat16(source, to: destination, count: count)
        }
    }
}
