import LoraNumerics
import Testing

/// Rounding f32 to bf16 (how the benchmarks and tests make bf16 weights) is to nearest, ties to even.
struct BFloat16RoundingTests {
    @Test func roundsToNearestEven() {
        #expect(HalfPrecision.bfloat16Bits(1) == 0x3F80)
        #expect(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80, "a tie rounds to the even neighbour")
        #expect(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82, "a tie rounds to the even neighbour")
        #expect(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(HalfPrecision.bfloat16Bits(-2.5) == 0xC020)
        #expect(HalfPrecision.bfloat16Bits(.infinity) == 0x7F80)
        #expect(HalfPrecision.bfloat16ToFloat(HalfPrecision.bfloat16Bits(.nan)).isNaN)
        #expect(HalfPrecision.bfloat16ToFloat(HalfPrecision.bfloat16Bits(Float(bitPattern: 0x7FFF_FFFF))).isNaN)
    }
}
