import Foundation
import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Testing

/// stories260K through the engine, greedy, all prompts of a case in one batch: the reference token ids
/// (up to the first near-tie) and texts.
@Suite struct ReferenceTests {
    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage))
    func storiesGreedyThroughTheEngine() throws {
        let stories = try Stories.load()
        let reference = try Fixtures.reference("stories260K")
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let wanted: [[(String, Float)]] = [[], [("dragon", 1)], [("snow", 1)], [("dragon", 0.5), ("snow", 0.5)]]
        var checked = 0
        for loras in wanted {
            guard let refCase = reference.cases.first(where: { c in
                c.loras.count == loras.count && zip(c.loras, loras).allSatisfy { $0.adapter == $1.0 && $0.scale == $1.1 }
            }) else {
                Issue.record("reference has no case \(loras)")
                continue
            }
            let result = try engine.setLoras(stories.entries(loras))
            #expect(result.adapters.map(\.name) == loras.map(\.0))
            let log = EventLog()
            var ids: [JobID] = []
            for r in refCase.results {
                ids.append(try engine.submit(GenerationRequest(
                    prompt: .text(r.prompt), sampling: .greedy,
                    stop: StopConditions(maxNewTokens: reference.steps, ignoreEos: true), logprobs: true), sink: log.sink))
            }
            #expect(log.waitFinished(ids.count))
            for (id, r) in zip(ids, refCase.results) {
                guard let got = log[id], let summary = got.summary else {
                    Issue.record("job for \(r.prompt) under \(loras) did not finish")
                    continue
                }
                #expect(summary.promptTokens == r.promptIds.count, "prompt ids of \(r.prompt)")
                #expect(summary.finishReason == .length)
                #expect(summary.epoch == result.epoch)
                let refTokens = r.greedy.map { Int32($0.token) }
                let firstTie = r.greedy.firstIndex { $0.margin < Tolerance.nearTieMargin } ?? (r.greedy.count - 1)
                #expect(Array(got.tokens.prefix(firstTie + 1)) == Array(refTokens.prefix(firstTie + 1)), "\(loras) \(r.prompt)")
                for i in 0...min(firstTie, got.logprobs.count - 1) {
                    #expect(abs(got.logprobs[i] - r.greedy[i].logprob) <= Tolerance.logprob, "logprob step \(i) of \(r.prompt)")
                }
                if got.tokens == refTokens { #expect(got.text == r.text, "\(loras) \(r.prompt)") }
                checked += 1
            }
        }
        #expect(checked == 12)
    }

    /// The engine with an f16 KV cache: the reference tokens of the base model wherever the reference's margin is
    /// wider than twice the f16 cache's logit bound (`KVCachePrecisionTests`), and a cache half the size.
    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage))
    func storiesGreedyWithHalfPrecisionCache() throws {
        let stories = try Stories.load()
        let reference = try Fixtures.reference("stories260K")
        let configuration = EngineConfiguration(kvCacheTokens: 8192, kvCachePrecision: .f16)
        let exactBytes = try #require(EngineConfiguration(kvCacheTokens: 8192).kvCacheBytes(for: stories.model.config))
        #expect(configuration.kvCacheBytes(for: stories.model.config) == exactBytes / 2)
        let engine = try stories.engine(configuration)
        defer { engine.shutdown() }
        let base = try #require(reference.cases.first { $0.loras.isEmpty })
        let log = EventLog()
        var ids: [JobID] = []
        for r in base.results {
            ids.append(try engine.submit(GenerationRequest(
                prompt: .text(r.prompt), sampling: .greedy, stop: StopConditions(maxNewTokens: reference.steps, ignoreEos: true)),
                sink: log.sink))
        }
        #expect(log.waitFinished(ids.count))
        for (id, r) in zip(ids, base.results) {
            let got = try #require(log[id])
            // A step whose margin is within the f16 cache's reach may legitimately pick the other token.
            let safe = r.greedy.firstIndex { $0.margin < 2e-2 } ?? r.greedy.count
            #expect(safe > 0, "\(r.prompt): no step to compare")
            #expect(Array(got.tokens.prefix(safe)) == r.greedy.prefix(safe).map { Int32($0.token) }, "\(r.prompt)")
        }
    }
}
