@testable import LoraEngine
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
