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
}
