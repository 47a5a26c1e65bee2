import CKernelSupport

/// Conversions from the 16-bit float formats of checkpoints to f32.
public enum HalfPrecision {
    /// bfloat16 bits to f32: the bf16 bits are the top half of an f32.
    @inlinable
    public static func bfloat16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// f32 to bfloat16 bits, rounded to nearest even (NaN stays a quiet NaN): how a bf16 checkpoint is made.
    @inlinable
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        guard !value.isNaN else { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// IEEE binary16 bits to f32, exactly (subnormals, infinities and NaN included).
    @inlinable
    public static func float16ToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int((bits >> 10) & 0x1F)
        let mantissa = UInt32(bits & 0x3FF)
        if exponent == 0 {
            // Zero or subnormal: value = mantissa · 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 0x1F {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
    }

    /// Converts `count` little-endian bf16 values at `source` into `destination`, eight at a time with the
    /// vector widening of `widen.h`.
    public static func convertBFloat16(_ source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int) {
        widen(source, to: destination, count: count, eight: { lorad_widen_bfloat16($0) }, one: bfloat16ToFloat)
    }

    /// f16 bits of `count` floats at `source`, written `stride` elements apart from `destination`: rounded to
    /// nearest even, magnitudes past f16's largest finite value (65504) saturated to it rather than infinite, NaN
    /// kept NaN. Not inlinable on purpose: this module is built with the vector ISA, where the conversion is an
    /// instruction; inlined into a module built without it, it becomes a library call per value.
    public static func storeFloat16Saturating(_ source: UnsafePointer<Float>, count: Int, to destination: UnsafeMutablePointer<UInt16>, stride: Int) {
        let largest: Float = 65504
        for i in 0..<count {
            let x = source[i]
            destination[i * stride] = Float16(x.magnitude > largest ? Float(signOf: x, magnitudeOf: largest) : x).bitPattern
        }
    }

    /// Converts `count` little-endian f16 values at `source` into `destination`, exactly, eight at a time with the
    /// vector widening of `widen.h` (`vcvtph2ps`).
    public static func convertFloat16(_ source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int) {
        widen(source, to: destination, count: count, eight: { lorad_widen_float16($0) }, one: float16ToFloat)
    }

    /// The loop both conversions share: eight values at a time with `eight`, the tail one by one with `one`.
    @inline(__always)
    private static func widen(
        _ source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int,
        eight: (UnsafeRawPointer) -> SIMD8<Float>, one: (UInt16) -> Float
    ) {
        let out = UnsafeMutableRawPointer(destination)
        var i = 0
        while i + 8 <= count {
            out.storeBytes(of: eight(source + 2 * i), toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            destination[i] = one(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            i += 1
        }
    }
}
