import Foundation
import LoraNumerics
import Testing

/// The decode-attention segment kernel against plain double-precision softmax attention, and the join of segments.
struct DecodeAttentionTests {
    /// A segment's keys and values laid out as two pages of 16 positions hold them (keys transposed), in f32 or
    /// f16, with NaN in every lane and row past `count`: the kernel must neither use them nor be disturbed by them.
    struct SegmentLayout {
        let dim: Int, count: Int, halfPrecision: Bool
        /// Per page, the keys (Dh × 16) then the values (16 × Dh), as f32 bit patterns or f16 bit patterns.
        var pages: [[UInt32]] = []
        var halfPages: [[UInt16]] = []
        static let page = 16

        init(keys: [Float], values: [Float], dim: Int, count: Int, halfPrecision: Bool = false) {
            self.dim = dim
            self.count = count
            self.halfPrecision = halfPrecision
            var f32 = Array(repeating: Array(repeating: Float.nan, count: 2 * dim * Self.page), count: 2)
            for i in 0..<count {
                for d in 0..<dim { f32[i / Self.page][d * Self.page + i % Self.page] = keys[i * dim + d] }
                for d in 0..<dim { f32[i / Self.page][dim * Self.page + (i % Self.page) * dim + d] = values[i * dim + d] }
            }
            pages = f32.map { $0.map(\.bitPattern) }
            halfPages = f32.map { $0.map { Float16($0).bitPattern } }
        }

        /// Runs the kernel for `heads` heads; returns outputs (heads × dim) and statistics (heads × 2).
        func attend(queries: [Float], heads: Int, scale: Float) -> (outputs: [Float], statistics: [Float]) {
            var outputs = [Float](repeating: .nan, count: heads * dim)
            var statistics = [Float](repeating: .nan, count: 2 * heads)
            let elementBytes = halfPrecision ? 2 : 4
            let keyBytes = dim * Self.page * elementBytes
            func run(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer) {
                let keys: [UnsafeRawPointer?] = [p0, p0 + 8 * elementBytes, p1, p1 + 8 * elementBytes]
                let values: [UnsafeRawPointer?] = [p0 + keyBytes, p0 + keyBytes + 8 * dim * elementBytes,
                                                   p1 + keyBytes, p1 + keyBytes + 8 * dim * elementBytes]
                DecodeAttention.attendSegment(
                    queries: queries, heads: heads, dim: dim, scale: scale, keys: keys, keyStride: Self.page, values: values,
                    halfPrecision: halfPrecision, count: count, outputs: &outputs, outputStride: dim,
                    statistics: &statistics, statisticsStride: 2)
            }
            if halfPrecision {
                halfPages[0].withUnsafeBytes { p0 in halfPages[1].withUnsafeBytes { p1 in run(p0.baseAddress!, p1.baseAddress!) } }
            } else {
                pages[0].withUnsafeBytes { p0 in pages[1].withUnsafeBytes { p1 in run(p0.baseAddress!, p1.baseAddress!) } }
            }
            return (outputs, statistics)
        }
    }

    /// Every head grouping (threes, twos for four, a lone head), head sizes with and without a scalar tail, and
    /// counts that end on and inside a vector of eight.
    @Test(arguments: [(1, 8, 1), (2, 16, 7), (3, 64, 32), (3, 64, 9), (4, 64, 17), (5, 20, 24), (8, 128, 31), (1, 72, 8), (6, 12, 3)],
          [false, true])
    func segmentMatchesPlainAttention(shape: (heads: Int, dim: Int, count: Int), halfPrecision: Bool) {
        let (heads, dim, count) = shape
        let queries = KernelTests.random(heads * dim, seed: 41)
        // In f16 the reference uses the rounded keys and values: the kernel itself must add no error of its own.
        let round: (Float) -> Float = { halfPrecision ? Float(Float16($0)) : $0 }
        let keys = KernelTests.random(count * dim, seed: 42).map { round(3 * $0) }
        let values = KernelTests.random(count * dim, seed: 43).map(round)
        let scale: Float = 0.3
        let (outputs, statistics) = SegmentLayout(keys: keys, values: values, dim: dim, count: count, halfPrecision: halfPrecision)
            .attend(queries: queries, heads: heads, scale: scale)
        for h in 0..<heads {
            let logits = (0..<count).map { i in
                Double(scale) * (0..<dim).reduce(0.0) { $0 + Double(queries[h * dim + $1]) * Double(keys[i * dim + $1]) }
            }
            let top = logits.max() ?? 0
            let weights = logits.map { exp($0 - top) }
            let expected = (0..<dim).map { c in (0..<count).reduce(0.0) { $0 + weights[$1] * Double(values[$1 * dim + c]) } }
            let label = "head \(h) of \(heads), dim \(dim), count \(count), f16 \(halfPrecision)"
            #expect(abs(Double(statistics[2 * h]) - top) <= 1e-5, "max, \(label)")
            #expect(abs(Double(statistics[2 * h + 1]) - weights.reduce(0, +)) <= 1e-5 * Double(count), "sum, \(label)")
            #expect(KernelTests.maxDifference(Array(outputs[(h * dim)..<((h + 1) * dim)]), expected) <= 1e-5 * Double(count), "\(label)")
        }
    }

    /// Attention over positions split into segments (`attendSegment` per segment, then `combine`) equals softmax attention over all of them, for one segment and several of uneven sizes.
    @Test(arguments: [[7], [32, 32, 5], [1, 16, 16, 3], [32, 1]])
    func segmentsCombineToSoftmaxAttention(segmentSizes: [Int]) {
        let dim = 16, n = segmentSizes.reduce(0, +)
        let q = KernelTests.random(dim, seed: 21), keys = KernelTests.random(dim * n, seed: 22).map { 4 * $0 }
        let values = KernelTests.random(dim * n, seed: 23)
        let scale: Float = 0.25
        var partials = [Float](repeating: .nan, count: segmentSizes.count * dim)
        var statistics = [Float](repeating: .nan, count: 2 * segmentSizes.count)
        var first = 0
        for (g, size) in segmentSizes.enumerated() {
            let layout = SegmentLayout(keys: Array(keys[(first * dim)..<((first + size) * dim)]),
                                       values: Array(values[(first * dim)..<((first + size) * dim)]), dim: dim, count: size)
            let (output, stats) = layout.attend(queries: q, heads: 1, scale: scale)
            statistics[2 * g] = stats[0]
            statistics[2 * g + 1] = stats[1]
            partials.replaceSubrange((g * dim)..<((g + 1) * dim), with: output)
            first += size
        }
        var joined = [Float](repeating: .nan, count: dim)
        DecodeAttention.combine(partials: partials, statistics: statistics, segments: segmentSizes.count, dim: dim, into: &joined)
        let logits = (0..<n).map { i in Double(scale) * (0..<dim).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[i * dim + $1]) } }
        let top = logits.max() ?? 0
        let weights = logits.map { exp($0 - top) }, total = weights.reduce(0, +)
        let expected = (0..<dim).map { c in (0..<n).reduce(0.0) { $0 + weights[$1] / total * Double(values[$1 * dim + c]) } }
        #expect(KernelTests.maxDifference(joined, expected) <= 1e-6, "segments \(segmentSizes)")
    }
}
