import Foundation
import LoraNumerics
import Testing

/// The decode-attention inner loops against plain double-precision sums, over head sizes that take every path
/// (the 64-wide block, the 8-wide loop, the scalar tail) and key counts that leave a partial block of four.
struct DecodeAttentionTests {
    @Test(arguments: [(8, 1), (12, 5), (64, 16), (64, 7), (72, 9), (128, 13)])
    func scoresMatchPlainDots(dim: Int, count: Int) {
        let q = KernelTests.random(dim, seed: 11), keys = KernelTests.random(dim * count, seed: 12)
        var scores = [Float](repeating: .nan, count: count)
        DecodeAttention.score(query: q, keys: keys, count: count, dim: dim, scale: 0.125, into: &scores)
        for i in 0..<count {
            let plain = 0.125 * (0..<dim).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[i * dim + $1]) }
            #expect(abs(Double(scores[i]) - plain) <= 1e-6 * Double(dim), "key \(i) of \(count), dim \(dim)")
        }
    }

    /// The three-head kernel forms each score exactly as `score` does, for full blocks of four keys, tails, and a
    /// head size that is not a multiple of 8.
    @Test(arguments: [(64, 16), (64, 7), (72, 9), (8, 3), (12, 6), (64, 1)])
    func threeHeadScoresEqualOneHeadScores(dim: Int, count: Int) {
        let queries = KernelTests.random(3 * dim, seed: 31), keys = KernelTests.random(dim * count, seed: 32)
        let stride = count + 5
        var fused = [Float](repeating: .nan, count: 3 * stride)
        DecodeAttention.scoreThreeHeads(queries: queries, keys: keys, count: count, dim: dim, scale: 0.125, into: &fused, scoreStride: stride)
        for h in 0..<3 {
            var alone = [Float](repeating: .nan, count: count)
            DecodeAttention.score(query: Array(queries[(h * dim)...]), keys: keys, count: count, dim: dim, scale: 0.125, into: &alone)
            #expect(Array(fused[(h * stride)..<(h * stride + count)]) == alone, "head \(h), dim \(dim), count \(count)")
            #expect(fused[(h * stride + count)..<((h + 1) * stride)].allSatisfy { $0.isNaN }, "nothing past the scores is written")
        }
    }

    @Test(arguments: [(8, 1), (12, 5), (64, 16), (64, 7), (72, 9), (136, 13)])
    func accumulateAddsWeightedValues(dim: Int, count: Int) {
        let weights = KernelTests.random(count, seed: 13), values = KernelTests.random(dim * count, seed: 14)
        let start = KernelTests.random(dim, seed: 15)
        var output = start
        DecodeAttention.accumulate(weights: weights, values: values, count: count, dim: dim, into: &output)
        let expected = (0..<dim).map { c in
            Double(start[c]) + (0..<count).reduce(0.0) { $0 + Double(weights[$1]) * Double(values[$1 * dim + c]) }
        }
        #expect(KernelTests.maxDifference(output, expected) <= 1e-5, "dim \(dim), count \(count)")
    }

    /// Attention over positions split into segments (scores, unnormalized softmax, weighted values per segment,
    /// then `combine`) equals softmax attention over all of them, for one segment and several of uneven sizes.
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
            var scores = [Float](repeating: 0, count: size)
            DecodeAttention.score(query: q, keys: Array(keys[(first * dim)...]), count: size, dim: dim, scale: scale, into: &scores)
            let (largest, sum) = Softmax.exponentiate(&scores, size)
            statistics[2 * g] = largest
            statistics[2 * g + 1] = sum
            var output = [Float](repeating: 0, count: dim)
            DecodeAttention.accumulate(weights: scores, values: Array(values[(first * dim)...]), count: size, dim: dim, into: &output)
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
