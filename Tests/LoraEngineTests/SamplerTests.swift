@testable import LoraEngine
import Foundation
import LoraModel
import Synchronization
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

    /// Runs `body` on its own thread; nil when it has not returned within `seconds`, so a sampler that spins
    /// forever fails the test instead of hanging the run (the spinning thread is left behind).
    func returns<T: Sendable>(within seconds: Double = 60, _ body: @escaping @Sendable () -> T) -> T? {
        let slot = ResultSlot<T>(), done = DispatchSemaphore(value: 0)
        Thread {
            let result = body()
            slot.value.withLock { $0 = result }
            done.signal()
        }.start()
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return slot.value.withLock { $0 }
    }

    @Test func nonFiniteLogitsNeverWinAndNeverHang() {
        let nan = Float.nan, inf = Float.infinity
        let filters: [(topK: Int, topP: Float, minP: Float)] = [(0, 1, 0), (0, 0.5, 0), (0, 1, 0.1), (2, 1, 0), (100, 0.9, 0)]
        let draws: [Float] = [0, 0.3, 0.7, 0.999_999]
        let outcome = returns { () -> [String] in
            var failures: [String] = []
            func pick(_ logits: [Float], _ f: (topK: Int, topP: Float, minP: Float), _ u: Float) -> Int {
                var row = logits
                return row.withUnsafeMutableBufferPointer { Sampler.sample($0, temperature: 0.8, topK: f.topK, topP: f.topP, minP: f.minP, uniform: u) }
            }
            for f in filters {
                for u in draws {
                    // A NaN (broken model or adapter) is never chosen.
                    let a = pick([nan, 1, nan, 2, nan], f, u)
                    if a != 1 && a != 3 { failures.append("NaN row \(f) u \(u): \(a)") }
                    // +inf beats every finite logit; a NaN among them still never wins.
                    let b = pick([1, inf, 3, inf, nan], f, u)
                    if b != 1 && b != 3 { failures.append("+inf row \(f) u \(u): \(b)") }
                    // Nothing has any probability: the lowest id.
                    for row in [[nan, nan, nan], [-inf, nan, -inf]] where pick(row, f, u) != 0 { failures.append("\(row) \(f) u \(u)") }
                }
            }
            // Without filters the +inf tokens share the draw evenly.
            let both = Set((0..<100).map { pick([1, inf, 3, inf], (0, 1, 0), Float($0) / 100) })
            if both != [1, 3] { failures.append("+inf draws \(both)") }
            return failures
        }
        #expect(outcome == [], "nil: the sampler did not return")
    }

    @Test func greedyNeverPicksNaN() {
        #expect(choose(.greedy, [.nan, 1, 2]) == 2)
        #expect(choose(.greedy, [1, .infinity, .nan, .infinity]) == 1)
        #expect(choose(.greedy, [.nan, .nan]) == 0)
    }

    @Test func overflowingPenaltiesStillChooseAToken() {
        // (Validation refuses these values; the sampler must still terminate on whatever logits it gets.)
        let logits: [Float] = [2, 1, 0.5, -1]
        // -3e38 presence plus -3e38 frequency is -inf in Float: generated token 2's logit becomes +inf.
        let presence = returns { choose(SamplingParameters(temperature: 1, presencePenalty: -3e38, frequencyPenalty: -3e38, seed: 1), logits, generated: [2]) }
        #expect(presence == 2)
        // Repetition 1e-45 (the least Float) divides token 1's positive logit into +inf.
        let repetition = returns { choose(SamplingParameters(temperature: 0.8, repetitionPenalty: .leastNonzeroMagnitude, seed: 2), logits, seen: [1]) }
        #expect(repetition == 1)
    }

    @Test func penaltiesOutsideTheirRangesAreRefused() throws {
        let refused: [(SamplingParameters, String)] = [
            (SamplingParameters(presencePenalty: -3e38), "presencePenalty must be in [-2, 2]"),
            (SamplingParameters(presencePenalty: .nan), "presencePenalty must be in [-2, 2]"),
            (SamplingParameters(frequencyPenalty: 2.5), "frequencyPenalty must be in [-2, 2]"),
            (SamplingParameters(repetitionPenalty: .leastNonzeroMagnitude), "repetitionPenalty must be in [0.01, 100]"),
            (SamplingParameters(repetitionPenalty: 1000), "repetitionPenalty must be in [0.01, 100]"),
            (SamplingParameters(repetitionPenalty: .infinity), "repetitionPenalty must be in [0.01, 100]"),
        ]
        for (p, message) in refused {
            #expect { try p.validate() } throws: { error in
                guard case EngineError.invalidRequest(let m) = error else { return false }
                return m.hasPrefix(message)
            }
        }
        // The bounds themselves are allowed.
        try SamplingParameters(repetitionPenalty: 0.01, presencePenalty: -2, frequencyPenalty: 2).validate()
        try SamplingParameters(repetitionPenalty: 100, presencePenalty: 2, frequencyPenalty: -2).validate()
    }

    @Test(arguments: [40, 64, 65, 1_000, 4_999])
    func largeTopKMatchesThePlainSort(topK: Int) {
        // Above `insertionTopKLimit` the k best come from a radix sort of every id: the order (ties by id,
        // -0 tying +0, -inf last) and the draws must be the plain sort's.
        var state = UInt64(topK)
        func unit() -> Float { state = state &* 6364136223846793005 &+ 1442695040888963407; return Float(state >> 40) / Float(1 << 24) }
        let logits: [Float] = (0..<5_000).map { i in
            let r = unit()
            return r < 0.02 ? -.infinity : r < 0.04 ? -0.0 : Float(Int(r * 40) - 20) * 0.25
        }
        let byLogit: (Int, Int) -> Bool = { a, b in logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        var row = logits
        let best = row.withUnsafeMutableBufferPointer { Sampler.best($0, k: topK) }
        #expect(best == Array(logits.indices.sorted(by: byLogit).prefix(topK)))
        var mismatches = 0
        for (temperature, topP) in [(1.0, 1), (0.7, 0.9), (2.0, 0.5)] as [(Float, Float)] {
            for _ in 0..<40 {
                let u = unit()
                var row = logits
                let fast = row.withUnsafeMutableBufferPointer { Sampler.sample($0, temperature: temperature, topK: topK, topP: topP, minP: 0, uniform: u) }
                if fast != Self.referenceSample(logits, temperature: temperature, topK: topK, topP: topP, minP: 0, u: u) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
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

/// Where a thread leaves its result for `SamplerTests.returns`.
private final class ResultSlot<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}
