import CKernelSupport
import Foundation
@testable import LoraNumerics
import Testing

/// 16-bit panels must compute exactly what f32 panels holding the widened values compute: the kernel's
/// in-register widening is exact and the fused multiply-add chains are the same.
struct HalfPrecisionPanelTests {
    /// Row-major 16-bit patterns of `format` for random values in ±1, with a few zeros, a negative zero and
    /// (for f16) subnormals mixed in.
    static func patterns(_ count: Int, format: PanelElement, seed: UInt64) -> [UInt16] {
        KernelTests.random(count, seed: seed).enumerated().map { i, value in
            let v: Float = i % 97 == 0 ? 0 : (i % 89 == 0 ? -0.0 : (i % 83 == 0 ? value * 1e-6 : value))
            return UInt16(truncatingIfNeeded: format.bits(rounding: v))
        }
    }

    static func packed(_ bits: [UInt16], format: PanelElement, rows: Int, cols: Int) -> (half: PanelMatrix, float: PanelMatrix) {
        let half = PanelMatrix(rows: rows, cols: cols, element: format)
        bits.withUnsafeBytes { half.store(rowMajorBits: $0.baseAddress!, ld: cols, firstRow: 0, count: rows) }
        let widened = bits.map { format.widen(bits: UInt32($0)) }
        let float = widened.withUnsafeBufferPointer { PanelMatrix(packing: $0.baseAddress!, rows: rows, cols: cols) }
        return (half, float)
    }

    /// Every tile (4, 2, 1 rows), the prefetching path (8+ rows), several 64-row blocks, partial last panels
    /// and a depth split into chunks.
    @Test(arguments: [PanelElement.bfloat16, .float16],
          [(1, 45, 70), (3, 48, 70), (7, 24, 9), (8, 50, 33), (16, 45, 576), (17, 73, 70), (65, 45, 70), (6, 30, 1_700),
           (12, 49, 1_700), (1, 45, 1_700), (5, 45, 1_700)])
    func sixteenBitPanelsEqualWidenedFloatPanels(format: PanelElement, shape: (rows: Int, outDim: Int, inDim: Int)) {
        let (rows, outDim, inDim) = shape
        let (half, float) = Self.packed(Self.patterns(outDim * inDim, format: format, seed: 31), format: format, rows: outDim, cols: inDim)
        #expect(half.element == format && float.element == .float32)
        let x = KernelTests.random(rows * inDim, seed: 32)
        for accumulate in [false, true] {
            var fromHalf = [Float](repeating: 0.25, count: rows * outDim), fromFloat = fromHalf
            PanelGEMM.multiply(half, x: x, ldx: inDim, rows: rows, y: &fromHalf, ldy: outDim, accumulate: accumulate)
            PanelGEMM.multiply(float, x: x, ldx: inDim, rows: rows, y: &fromFloat, ldy: outDim, accumulate: accumulate)
            #expect(fromHalf.map(\.bitPattern) == fromFloat.map(\.bitPattern), "\(format) \(shape) accumulate \(accumulate)")
        }
    }

    @Test(arguments: [PanelElement.bfloat16, .float16])
    func sixteenBitPanelsReadBackWidened(format: PanelElement) {
        let rows = 50, cols = 13
        let bits = Self.patterns(rows * cols, format: format, seed: 33)
        let (half, float) = Self.packed(bits, format: format, rows: rows, cols: cols)
        // Half the bytes (the panels hold an even number of values).
        #expect(half.byteCount * 2 == float.byteCount)
        #expect(half.float32ByteCount == float.byteCount)
        let back = half.unpacked()
        #expect((0..<(rows * cols)).allSatisfy { back.pointer[$0].bitPattern == format.widen(bits: UInt32(bits[$0])).bitPattern })
        var row = [Float](repeating: 0, count: cols)
        half.copyRow(37, to: &row)
        #expect(row.map(\.bitPattern) == (0..<cols).map { float[37, $0].bitPattern })
        #expect(half[49, 12].bitPattern == float[49, 12].bitPattern)
        let widened = PanelMatrix(widening: half)
        #expect(widened.element == .float32)
        #expect(widened.storage.array.map(\.bitPattern) == float.storage.array.map(\.bitPattern))
    }

    /// The vector conversions agree with the scalar ones for every 16-bit pattern (NaN for NaN): the kernel's
    /// (hardware, in this build) and the portable loops a LORAD_PORTABLE=1 build uses instead.
    @Test(arguments: ["kernel", "portable"])
    func vectorWideningMatchesScalarForEveryPattern(path: String) {
        let all = (0...UInt16.max).map { $0.littleEndian }
        all.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            var mismatches = 0
            for start in stride(from: 0, to: all.count, by: 8) {
                let p = base + 2 * start
                let b = path == "kernel" ? BFloat16Column.vector(p, 0) : lorad_widen_bfloat16_portable(p)
                let h = path == "kernel" ? Float16Column.vector(p, 0) : lorad_widen_float16_portable(p)
                for lane in 0..<8 {
                    let bits = UInt16(start + lane)
                    let scalarB = HalfPrecision.bfloat16ToFloat(bits), scalarH = HalfPrecision.float16ToFloat(bits)
                    if !(scalarB.isNaN ? b[lane].isNaN : b[lane].bitPattern == scalarB.bitPattern) { mismatches += 1 }
                    if !(scalarH.isNaN ? h[lane].isNaN : h[lane].bitPattern == scalarH.bitPattern) { mismatches += 1 }
                }
            }
            #expect(mismatches == 0, "\(path)")
        }
    }

    /// Packing f32 values into a 16-bit format rounds each one as a checkpoint writer would.
    @Test(arguments: [PanelElement.bfloat16, .float16])
    func packingRoundsToTheFormat(format: PanelElement) {
        let rows = 30, cols = 7
        let values = KernelTests.random(rows * cols, seed: 34)
        let packed = values.withUnsafeBufferPointer { PanelMatrix(packing: $0.baseAddress!, rows: rows, cols: cols, element: format) }
        #expect(packed.element == format)
        #expect((0..<rows).allSatisfy { o in
            (0..<cols).allSatisfy { k in packed[o, k].bitPattern == format.widen(bits: format.bits(rounding: values[o * cols + k])).bitPattern }
        })
    }
}

