import Foundation
@testable import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Testing

/// Request limits, the initial epoch and configuration checks, on the random model (no fixtures).
@Suite struct EngineLimitsTests {
    static func request(_ prompt: GenerationRequest.Prompt = .tokens([1, 2, 3]), stop: [String] = [], stopIds: [Int32] = []) -> GenerationRequest {
        GenerationRequest(prompt: prompt, sampling: .greedy, stop: StopConditions(maxNewTokens: 4, stopTokenIds: stopIds, stopStrings: stop))
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let c = EngineConfiguration()
        #expect(c.maxPromptBytes == nil)
        #expect(c.maxPromptBytes(maxPositions: 2048) == 8 * 2048)
        #expect(c.maxPromptBytes(maxPositions: .max) == .max, "saturates")
        #expect(c.maxStopStrings == 16)
        #expect(c.maxStopStringBytes == 256)
        #expect(c.maxStopTokenIds == 1024)
        #expect(EngineConfiguration(maxPromptBytes: 100).maxPromptBytes(maxPositions: 2048) == 100)
    }

    @Test func oversizedRequestsAreRefusedBeforeTokenizing() throws {
        let engine = try RandomEngine.engine(EngineConfiguration(kvCacheTokens: 1024, maxPromptBytes: 10, maxStopStrings: 2,
                                                                 maxStopStringBytes: 4, maxStopTokenIds: 3))
        defer { engine.shutdown() }
        let sink: JobSink = { _ in }
        // The engine has no tokenizer: a prompt that reached the tokenizer would fail with `noTokenizer`.
        #expect(throws: EngineError.requestTooLarge(.maxPromptBytes, size: 11, limit: 10)) {
            try engine.submit(Self.request(.text("hello world")), sink: sink)
        }
        #expect(throws: EngineError.requestTooLarge(.maxStopStrings, size: 3, limit: 2)) {
            try engine.submit(Self.request(stop: ["a", "b", "c"]), sink: sink)
        }
        #expect(throws: EngineError.requestTooLarge(.maxStopStringBytes, size: 5, limit: 4)) {
            try engine.submit(Self.request(stop: ["a", "hello"]), sink: sink)
        }
        #expect(throws: EngineError.requestTooLarge(.maxStopTokenIds, size: 4, limit: 3)) {
            try engine.submit(Self.request(stopIds: [3, 4, 5, 6]), sink: sink)
        }
        #expect(throws: EngineError.noTokenizer, "within the limits, the request goes on to the tokenizer") {
            try engine.submit(Self.request(.text("hello")), sink: sink)
        }
        #expect(engine.status().queuedJobs == 0 && engine.status().runningJobs == 0, "nothing was queued")
        let message = EngineError.requestTooLarge(.maxStopStrings, size: 3, limit: 2).description
        #expect(message.contains("maxStopStrings 2") && message.contains("fewer stop strings"))
    }

    @Test func anEmptyStopStringAndStopIdsOutsideTheVocabularyAreErrors() throws {
        let engine = try RandomEngine.engine(EngineConfiguration(kvCacheTokens: 1024))
        defer { engine.shutdown() }
        #expect { try engine.submit(Self.request(stop: [""]), sink: { _ in }) } throws: { error in
            guard case EngineError.invalidRequest(let m) = error else { return false }
            return m.contains("empty")
        }
        #expect { try engine.submit(Self.request(stopIds: [64]), sink: { _ in }) } throws: { error in
            guard case EngineError.invalidRequest(let m) = error else { return false }
            return m.contains("64")
        }
        let record = try runOne(engine, Self.request(stopIds: [63]))
        #expect(record.summary != nil, "an id inside the vocabulary is fine")
    }

    @Test func limitsMustBePositive() {
        for c in [EngineConfiguration(maxPromptBytes: 0), EngineConfiguration(maxStopStrings: 0), EngineConfiguration(maxStopStringBytes: -1),
                  EngineConfiguration(maxStopTokenIds: 0)] {
            #expect(throws: EngineError.self) { try c.validate() }
        }
    }

    @Test func aPoolPastThirtyTwoBitPageIdsIsAConfigurationError() {
        // Int32(pageCount) trapped when the pool was made; now the configuration is refused with a remedy.
        let c = EngineConfiguration(kvCacheTokens: Int.max, pageSize: 1)
        #expect { try c.validate() } throws: { error in
            guard case EngineError.invalidConfiguration(let m) = error else { return false }
            return m.contains("KV pages") && m.contains("raise pageSize")
        }
        #expect(EngineConfiguration(kvCacheTokens: Int.max, pageSize: 16).pageCount == Int.max / 16 + 1, "no overflow rounding up")
    }

    @Test func theEngineStartsAtTheGivenEpoch() throws {
        let committed = Timeline()
        let engine = try RandomEngine.engine(initialEpoch: 7, commitHook: { c in committed.add("\(c.epoch)") })
        defer { engine.shutdown() }
        #expect(engine.status().epoch == 7)
        let before = try runOne(engine, RandomEngine.job(2))
        #expect(before.startedEpoch == 7)
        #expect(before.summary?.epoch == 7)
        let result = try engine.setLoras(prebuilt: try RandomEngine.set(engine, "red", seed: 7))
        #expect(result.epoch == 8)
        #expect(committed.all == ["8"])
        #expect(engine.status().epoch == 8)
        #expect(try runOne(engine, RandomEngine.job(2)).startedEpoch == 8)
    }

    @Test func jobsRunOnTheRandomModel() throws {
        let engine = try RandomEngine.engine(EngineConfiguration(maxBatchSize: 4, kvCacheTokens: 1024))
        defer { engine.shutdown() }
        let alone = try runOne(engine, RandomEngine.job(12))
        #expect(alone.tokens.count == 12)
        #expect(alone.summary?.finishReason == .length)
        let log = EventLog()
        let ids = try (0..<4).map { _ in try engine.submit(RandomEngine.job(12), sink: log.sink) }
        #expect(log.waitFinished(4))
        for id in ids { #expect(log[id]?.tokens == alone.tokens, "batched greedy jobs match the job run alone") }
        #expect(eventually { engine.status().freeKVPages == engine.status().totalKVPages })
    }
}
