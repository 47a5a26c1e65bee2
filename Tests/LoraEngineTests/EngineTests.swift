import Dispatch
import Foundation
import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Testing

@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct EngineTests {
    static let once = "Once upon a time"

    static func request(_ text: String = once, _ sampling: SamplingParameters = .greedy, max: Int = 24, stop: [String] = [], stopIds: [Int32] = []) -> GenerationRequest {
        GenerationRequest(prompt: .text(text), sampling: sampling, stop: StopConditions(maxNewTokens: max, stopTokenIds: stopIds, stopStrings: stop, ignoreEos: true))
    }

    @Test func aKVCacheLargerThanTheMachineIsRefusedBeforeAllocating() throws {
        let stories = try Stories.load()
        #expect { _ = try stories.engine(EngineConfiguration(kvCacheTokens: 1 << 34)) } throws: { error in
            guard case EngineError.invalidConfiguration(let message) = error else { return false }
            return message.contains("kvCacheTokens") && message.contains("MiB")
        }
    }

    @Test func cancelQueuedAndRunningJobsFreesTheirPages() throws {
        let stories = try Stories.load()
        let engine = try stories.engine(EngineConfiguration(maxBatchSize: 1, kvCacheTokens: 2048))
        defer { engine.shutdown() }
        let log = EventLog()
        let slow = try SetLorasTests.startSlow(engine, log, tokens: 400)
        let queued = try engine.submit(Self.request(), sink: log.sink)
        #expect(eventually { engine.status().queuedJobs == 1 })
        #expect(engine.status().freeKVPages < engine.status().totalKVPages)
        #expect(engine.cancel(queued))
        #expect(log.waitFinished(1))
        let q = try #require(log[queued])
        #expect(q.summary?.finishReason == .cancelled)
        #expect(q.startedEpoch == nil, "never started")
        #expect(q.tokens.isEmpty)
        #expect(engine.cancel(slow))
        #expect(log.waitFinished(1))
        let s = try #require(log[slow])
        #expect(s.summary?.finishReason == .cancelled)
        #expect(s.tokens.count < 400)
        #expect(s.summary?.completionTokens == s.tokens.count)
        #expect(!engine.cancel(slow), "already finished")
        #expect(!engine.cancel(9999), "unknown id")
        #expect(eventually { let st = engine.status(); return st.freeKVPages == st.totalKVPages && st.runningJobs == 0 && st.queuedJobs == 0 })
        #expect(s.outOfOrder == 0 && q.outOfOrder == 0)
    }

    @Test func refusesWhatCanNeverFit() throws {
        let stories = try Stories.load()
        let engine = try stories.engine(EngineConfiguration(kvCacheTokens: 64, maxQueuedJobs: 1))
        defer { engine.shutdown() }
        let long = GenerationRequest(prompt: .tokens([1] + Array(repeating: 300, count: 99)), stop: StopConditions(maxNewTokens: 4))
        #expect(throws: EngineError.promptTooLong(promptTokens: 100, maxNewTokens: 4, neededPositions: 103, cachePositions: 64)) {
            try engine.submit(long, sink: { _ in })
        }
        let fitsPromptNotTokens = GenerationRequest(prompt: .tokens([1, 2, 3]), stop: StopConditions(maxNewTokens: 100))
        #expect(throws: EngineError.promptTooLong(promptTokens: 3, maxNewTokens: 100, neededPositions: 102, cachePositions: 64)) {
            try engine.submit(fitsPromptNotTokens, sink: { _ in })
        }
        let pastContext = GenerationRequest(prompt: .tokens(Array(repeating: 300, count: 512)))
        #expect(throws: EngineError.contextExceeded(promptTokens: 512, maxPositions: 512)) { try engine.submit(pastContext, sink: { _ in }) }
        #expect(throws: EngineError.self) { try engine.submit(GenerationRequest(prompt: .tokens([])), sink: { _ in }) }
        #expect(throws: EngineError.self) { try engine.submit(GenerationRequest(prompt: .tokens([512])), sink: { _ in }) }
        #expect(throws: EngineError.self) { try engine.submit(Self.request(Self.once, SamplingParameters(temperature: -1)), sink: { _ in }) }
        #expect(throws: EngineError.self) { try engine.submit(Self.request(max: 0), sink: { _ in }) }
        let message = EngineError.promptTooLong(promptTokens: 100, maxNewTokens: 4, neededPositions: 103, cachePositions: 64).description
        #expect(message.contains("100 tokens") && message.contains("64") && message.contains("kvCacheTokens"))
        // Without maxTokens a job may use the rest of the cache.
        let open = try runOne(engine, GenerationRequest(prompt: .tokens([1, 403]), sampling: .greedy, stop: StopConditions(ignoreEos: true)))
        #expect(open.summary?.finishReason == .length)
        #expect(open.tokens.count == 63)
    }

    @Test func refusesWhenTheQueueIsFull() throws {
        let stories = try Stories.load()
        let engine = try stories.engine(EngineConfiguration(maxBatchSize: 1, kvCacheTokens: 2048, maxQueuedJobs: 1))
        defer { engine.shutdown() }
        let log = EventLog()
        let slow = try SetLorasTests.startSlow(engine, log, tokens: 300)
        #expect(eventually { engine.status().runningJobs == 1 && engine.status().queuedJobs == 0 })
        let waiting = try engine.submit(Self.request(), sink: log.sink)
        #expect(throws: EngineError.busy(queued: 1, limit: 1)) { try engine.submit(Self.request(), sink: log.sink) }
        engine.cancel(slow)
        engine.cancel(waiting)
        #expect(log.waitFinished(2))
    }

    @Test func stopsOnStopStringsAndStopTokens() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        // Greedy base continuation: ", there was a little girl named Lily. She loved to play outside ..."
        let named = try runOne(engine, Self.request(max: 64, stop: ["Lily"]))
        #expect(named.text == ", there was a little girl named ")
        #expect(named.summary?.finishReason == .stop)
        #expect(named.summary?.stopString == "Lily")
        let full = try runOne(engine, Self.request(max: 10))
        #expect(full.summary?.finishReason == .length)
        #expect(full.tokens.count == 10)
        #expect(full.text == stories.tokenizer.decode(full.tokens, skipSpecialTokens: true))
        let third = full.tokens[2]
        let byId = try runOne(engine, Self.request(max: 10, stopIds: [third]))
        #expect(byId.tokens == Array(full.tokens.prefix(3)))
        #expect(byId.summary?.finishReason == .stop)
        #expect(byId.text == stories.tokenizer.decode(Array(full.tokens.prefix(2)), skipSpecialTokens: true))
        // EOS ends a job unless ignored: the model's EOS ids [2, 1] as extra stop ids behave the same.
        let eos = try runOne(engine, GenerationRequest(prompt: .text(Self.once), sampling: .greedy, stop: StopConditions(maxNewTokens: 400)))
        if let last = eos.tokens.last, eos.summary?.finishReason == .stop { #expect([1, 2].contains(last)) }
        #expect(eos.tokens.dropLast().allSatisfy { $0 != 1 && $0 != 2 })
    }

    @Test func seedsReproduceAndTopKOneIsGreedy() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let sampled = SamplingParameters(temperature: 1, topP: 0.95, seed: 7)
        let a = try runOne(engine, Self.request(Self.once, sampled, max: 32))
        let b = try runOne(engine, Self.request(Self.once, sampled, max: 32))
        #expect(a.tokens == b.tokens)
        var others: [[Int32]] = []
        for seed: UInt64 in 8..<12 {
            var p = sampled
            p.seed = seed
            others.append(try runOne(engine, Self.request(Self.once, p, max: 32)).tokens)
        }
        #expect(others.contains { $0 != a.tokens }, "different seeds give different samples")
        let greedy = try runOne(engine, Self.request(max: 32))
        let topK1 = try runOne(engine, Self.request(Self.once, SamplingParameters(temperature: 1.3, topK: 1, seed: 3), max: 32))
        #expect(topK1.tokens == greedy.tokens)
        // A repetition penalty changes a greedy story that repeats itself.
        let penalized = try runOne(engine, Self.request("One day, a little dog", SamplingParameters(repetitionPenalty: 1.5), max: 48))
        let plain = try runOne(engine, Self.request("One day, a little dog", max: 48))
        #expect(penalized.tokens != plain.tokens)
        #expect(Set(penalized.tokens).count >= Set(plain.tokens).count)
    }

    @Test func batchedEqualsAlone() throws {
        let stories = try Stories.load()
        let engine = try stories.engine(EngineConfiguration(maxBatchSize: 6, kvCacheTokens: 4096, maxChunkTokens: 7))
        defer { engine.shutdown() }
        let prompts = ["Once upon a time", "One day, a little dog", "Lily and Ben went to the park", "The sun was", "Tom had a red ball and a big", "Spot"]
        // Rows of a step are sampled in parallel: penalties, seeds and logprobs must stay each job's own.
        let requests = prompts.enumerated().map { i, p in
            var r = Self.request(p, i % 2 == 0 ? .greedy : SamplingParameters(temperature: 0.9, topK: 40, repetitionPenalty: 1.3, seed: UInt64(i)), max: 20 + i * 5)
            r.logprobs = i % 3 != 2
            return r
        }
        let log = EventLog()
        let ids = try requests.map { try engine.submit($0, sink: log.sink) }
        #expect(log.waitFinished(ids.count))
        for (id, r) in zip(ids, requests) {
            let alone = try runAlone(stories, r, adapters: [])
            #expect(log[id]?.tokens == alone.tokens)
            #expect(log[id]?.text == alone.text)
            // Not bit for bit: alone, the prompt is prefilled in one chunk, here in chunks of 7.
            let batched = log[id]?.logprobs ?? []
            #expect(alone.logprobs.count == (r.logprobs ? alone.tokens.count : 0))
            #expect(batched.count == alone.logprobs.count)
            #expect(zip(batched, alone.logprobs).allSatisfy { abs($0 - $1) <= Tolerance.logprob })
        }
        #expect(eventually { engine.status().freeKVPages == engine.status().totalKVPages })
    }
}
