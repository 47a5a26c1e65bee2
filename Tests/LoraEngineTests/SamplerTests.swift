@testable import LoraEngine
import Foundation
import LoraModel
import Testing

@Suite struct SamplerTests {
    func choose(_ p: SamplingParameters, _ logits: [Float], seen prompt: [Int32] = [], generated: [Int32] = []) -> Int32 {
        var s = Sampler(parameters: p, prompt: prompt)
        for t in generated { s.accept(t) }
        var row = logits
        return row.withUnsafeMutableBufferPointer { s.choose($0) }
    }

    @Test func greedyPicksTheLowestIdOnATie() {
        #expect(choose(.greedy, [1, 3, 3, 2]) == 1)
    }

    @Test func penaltiesChangeWhatTheyShould() {
        let logits: [Float] = [2.0, 1.9, -1, 0.5]
        #expect(choose(.greedy, logits) == 0)
        // Repetition: 2.0 / 1.2 < 1.9 when token 0 is in the prompt; a token absent stays.
        #expect(choose(SamplingParameters(repetitionPenalty: 1.2), logits, seen: [0]) == 1)
        #expect(choose(SamplingParameters(repetitionPenalty: 1.2), logits, seen: [3]) == 0)
        // Repetition multiplies a negative logit: token 2 gets less likely, not more.
        let s = Sampler(parameters: SamplingParameters(repetitionPenalty: 2), prompt: [2])
        var row = logits
        row.withUnsafeMutableBufferPointer { s.applyPenalties($0) }
        #expect(row[2] == -2)
        // Presence counts once, over generated tokens only (not the prompt).
        #expect(choose(SamplingParameters(presencePenalty: 0.2), logits, seen: [0]) == 0)
        #expect(choose(SamplingParameters(presencePenalty: 0.2), logits, generated: [0]) == 1)
        // Frequency scales with the count: once is not enough, twice is.
        #expect(choose(SamplingParameters(frequencyPenalty: 0.06), logits, generated: [0]) == 0)
        #expect(choose(SamplingParameters(frequencyPenalty: 0.06), logits, generated: [0, 0]) == 1)
    }

    @Test func topKOneIsGreedyAtAnyTemperature() {
        let logits: [Float] = (0..<64).map { Float(($0 * 37) % 64) / 10 }
        let greedy = choose(.greedy, logits)
        for seed: UInt64 in 0..<20 {
            #expect(choose(SamplingParameters(temperature: 1.5, topK: 1, seed: seed), logits) == greedy)
        }
    }

    @Test func samplingFollowsTheFilters() {
        let logits: [Float] = [3, 2.9, 0, -5]
        for seed: UInt64 in 0..<50 {
            let p = choose(SamplingParameters(temperature: 1, topP: 0.5, seed: seed), logits)
            #expect(p == 0 || p == 1, "top-p 0.5 keeps the two leading tokens")
            let k = choose(SamplingParameters(temperature: 1, topK: 2, seed: seed), logits)
            #expect(k == 0 || k == 1)
            let m = choose(SamplingParameters(temperature: 1, minP: 0.5, seed: seed), logits)
            #expect(m == 0 || m == 1, "min-p drops tokens far below the best")
        }
        // Without filters, every token with mass shows up across seeds.
        let seen = Set((0..<400).map { choose(SamplingParameters(temperature: 1, seed: UInt64($0)), logits) })
        #expect(seen.isSuperset(of: [0, 1, 2]))
    }

    /// The definition the sampler implements: sort every candidate by logit (then id), normalize, cut by top-p
    /// then min-p, draw.
    static func referenceSample(_ logits: [Float], temperature: Float, topK: Int, topP: Float, minP: Float, u: Float) -> Int {
        var order = Array(logits.indices).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if topK > 0 && topK < order.count { order = Array(order.prefix(topK)) }
        let top = Double(logits[order[0]])
        let weights = order.map { exp((Double(logits[$0]) - top) / Double(temperature)) }
        let total = weights.reduce(0, +)
        let probs = weights.map { $0 / total }
        var keep = probs.count
        if topP < 1 {
            var cumulative = 0.0
            for i in probs.indices {
                cumulative += probs[i]
                if cumulative >= Double(topP) { keep = i + 1; break }
            }
        }
        if minP > 0 {
            var i = 1
            while i < keep && probs[i] >= Double(minP) * probs[0] { i += 1 }
            keep = i
        }
        let target = Double(u) * probs[..<keep].reduce(0, +)
        var cumulative = 0.0
        for i in 0..<keep {
            cumulative += probs[i]
            if target < cumulative { return order[i] }
        }
        return order[keep - 1]
    }

    @Test func samplingMatchesTheFullSortDefinition() {
        // Peaked and flat vocabularies, with and without each filter, many draws: the prefix walk must pick
        // what sorting the whole vocabulary picks (a draw within ~1e-12 of a boundary may differ by rounding).
        var state: UInt64 = 99
        func unit() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407; return Float(state >> 40) / Float(1 << 24) }
        var mismatches = 0, draws = 0
        for (spread, vocab) in [(12.0, 5000), (3.0, 5000), (0.5, 3000), (30.0, 2000)] as [(Float, Int)] {
            let logits = (0..<vocab).map { _ in (unit() - 0.5) * spread + (unit() < 0.01 ? spread : 0) }
            for (temperature, topK, topP, minP) in [(0.7, 0, 1, 0), (1.0, 0, 0.9, 0), (1.3, 0, 1, 0.05), (0.8, 40, 0.95, 0), (2.0, 0, 0.5, 0.1)] as [(Float, Int, Float, Float)] {
                for _ in 0..<40 {
                    let u = unit()
                    var row = logits
                    let fast = row.withUnsafeMutableBufferPointer { Sampler.sample($0, temperature: temperature, topK: topK, topP: topP, minP: minP, uniform: u) }
                    let reference = Self.referenceSample(logits, temperature: temperature, topK: topK, topP: topP, minP: minP, u: u)
                    if fast != reference { mismatches += 1 }
                    draws += 1
                }
            }
        }
        #expect(draws == 800 && mismatches == 0)
    }

    @Test func orderKeysSortLikeTheLogitOrder() {
        // Larger logit first, then smaller id; ties, signed zeros, negatives and infinities included.
        let logits: [Float] = [0.5, -0.0, 0, -3, 0.5, .infinity, -.infinity, 1e-30, -1e-30, 7, -3, 0.5, .greatestFiniteMagnitude]
        let byLogit: (Int, Int) -> Bool = { a, b in logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        let expected = logits.indices.sorted(by: byLogit)
        let keyed = logits.indices.sorted { Sampler.orderKey(logits[$0], id: $0) < Sampler.orderKey(logits[$1], id: $1) }
        #expect(keyed == expected)
    }

    @Test(arguments: [0, 1, 5, 64, 65, 1_000, 49_152])
    func radixSortMatchesTheKeyOrder(count: Int) {
        // Few distinct logits, so most keys tie on the logit half and the id must break the tie.
        var state: UInt64 = UInt64(count) &+ 7
        let logits: [Float] = (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 58) - 32) * 0.25
        }
        var keys = logits.enumerated().map { Sampler.orderKey($1, id: $0) }
        let expected = keys.sorted()
        Sampler.radixSortByLogit(&keys)
        #expect(keys == expected)
    }

    @Test func theSameSeedGivesTheSameDraws() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let x = (0..<8).map { _ in a.next() }
        #expect(x == (0..<8).map { _ in b.next() })
        #expect(x != (0..<8).map { _ in c.next() })
    }

    @Test func generationConfigDefaults() throws {
        let greedy = try GenerationDefaults.sampling(doSample: nil, temperature: 0.7, topK: nil, topP: nil, minP: nil, repetitionPenalty: 1.1)
        #expect(greedy.temperature == 0)
        #expect(greedy.repetitionPenalty == 1.1)
        let sampled = try GenerationDefaults.sampling(doSample: true, temperature: 0.7, topK: nil, topP: 0.9, minP: nil, repetitionPenalty: nil)
        #expect(sampled == SamplingParameters(temperature: 0.7, topK: 50, topP: 0.9))
        #expect(throws: EngineError.self) { try GenerationDefaults.sampling(doSample: true, temperature: -1, topK: nil, topP: nil, minP: nil, repetitionPenalty: nil) }
    }
}
