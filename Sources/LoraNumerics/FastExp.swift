/// A vectorized `exp` for f32 (Cephes' `expf` polynomial, relative error about 1e-7), so softmax and SiLU over
/// prefill-sized inputs do not run one libm call per element.
public enum FastExp {
    /// e^x lane by lane. Inputs below -87.3 give 0 (including -∞); above 88.7 they saturate to `Float.infinity`.
    @inlinable
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let upper = SIMD8<Float>(repeating: 88.72283)
        let lower = SIMD8<Float>(repeating: -87.33654)
        let tooSmall = x .< lower
        let tooLarge = x .> upper
        // Masked replacement rather than `clamped`, whose generic pointwiseMin/Max is not inlined.
        var xc = x
        xc.replace(with: upper, where: tooLarge)
        xc.replace(with: lower, where: tooSmall)
        // x = n·ln2 + r with |r| ≤ ln2/2, ln2 split in two for accuracy. Adding 1.5·2²³ rounds x·log2(e) to
        // the nearest integer and leaves that integer in the low mantissa bits (no per-lane conversions).
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = xc * 1.442_695_04 + magic
        let n = shifted - magic
        var r = xc - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        let r2 = r * r
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_1e-1
        p = p * r2 + r + 1
        // 2^n from the exponent bits; n is in [-126, 128] after clamping.
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let bits = (integer &+ 127) &<< 23
        var result = p * unsafeBitCast(bits, to: SIMD8<Float>.self)
        result.replace(with: 0, where: tooSmall)
        result.replace(with: Float.infinity, where: tooLarge)
        return result
    }

    /// e^x for one value through the vector path (for tails).
    @inlinable
    public static func exp(_ x: Float) -> Float { exp(SIMD8<Float>(repeating: x))[0] }
}
