import Foundation
import Logging
import LoraEngine
import LoraEngineTestSupport
import LoraModel
import LoraTestFixtures
import Testing

/// Jobs with their own adapters in one batch with jobs on the global set (DESIGN.md §7): each job's tokens and
/// logprobs are those of the same job run alone under its set, whatever the global set's mode.
@Suite struct PerJobAdapterTests {
    /// Each job's own set (nil: the global set).
    static let storiesSets: [[(String, Float)]?] = [
        [("dragon", 1)], [("snow", 1)], [("dragon", 0.5), ("snow", 0.5)], [("dragon", -1)], [("snow", 2)],
        [("dragon", 0.3), ("snow", 1.5)], [], nil, [("dragon", 1)], nil, [], nil,
    ]
    static let globalSet: [(String, Float)] = [("dragon", 0.7), ("snow", 0.4)]
    static let prompts = ["Once upon a time", "One day, a little dog", "Lily and Ben went to the park", "The sun"]

    static func request(_ i: Int, loras: [AdapterSet.Entry]?) -> GenerationRequest {
        // Greedy and sampled jobs alternate; a sampled job's seed fixes its draws.
        let sampling: SamplingParameters = i % 2 == 0 ? .greedy : {
            var s = SamplingParameters.greedy
            s.temperature = 0.8
            s.topP = 0.95
            s.seed = UInt64(100 + i)
            return s
        }()
        return GenerationRequest(prompt: .text(prompts[i % prompts.count]), sampling: sampling,
                                 stop: StopConditions(maxNewTokens: 24, ignoreEos: true), logprobs: true, loras: loras)
    }

    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage), arguments: [AdapterSet.Mode.merged, .unmerged])
    func storiesBatchOfMixedSetsEqualsEachJobAlone(globalMode: AdapterSet.Mode) throws {
        let stories = try Stories.load()
        let engine = try stories.engine(EngineConfiguration(kvCacheTokens: 8192, loraMode: globalMode), adapters: Self.globalSet)
        defer { engine.shutdown() }
        let requests = Self.storiesSets.enumerated().map { i, set in Self.request(i, loras: set.map { stories.entries($0) }) }
        let batch = try PerJobBatch.run(engine, requests)
        #expect(batch.count == 12)
        for (i, set) in Self.storiesSets.enumerated() {
            // Alone: a fresh engine whose global set is the job's set (unmerged, as a job's own set is applied),
            // or the batch's global set in its mode, and the job without loras.
            let aloneEngine = try stories.engine(
                EngineConfiguration(kvCacheTokens: 8192, loraMode: set == nil ? globalMode : .unmerged), adapters: set ?? Self.globalSet)
            defer { aloneEngine.shutdown() }
            let alone = try runOne(aloneEngine, Self.request(i, loras: nil))
            let got = batch[i]
            let label = "job \(i) \(set.map { "\($0)" } ?? "global") under a \(globalMode) global set"
            #expect(got.tokens == alone.tokens, "\(label)")
            #expect(got.logprobs.count == alone.logprobs.count, "\(label)")
            for (a, b) in zip(got.logprobs, alone.logprobs) { #expect(abs(a - b) <= 1e-5, "\(label)") }
            let summary = try #require(got.summary)
            if let set {
                #expect(summary.globalEpoch == nil, "\(label)")
                #expect(summary.adapters == set.map { AdapterDescription(name: $0.0, scale: $0.1) }, "\(label)")
            } else {
                #expect(summary.globalEpoch == 0, "\(label)")
                #expect(summary.adapters == Self.globalSet.map { AdapterDescription(name: $0.0, scale: $0.1) }, "\(label)")
            }
            #expect(got.outOfOrder == 0)
        }
        // The own sets are shared by content: dragon×1 named twice is one set; [] is never cached.
        let cache = engine.status().adapterCache
        #expect(cache.builds == 6 && cache.hits == 1, "\(cache)")
        #expect(cache.entries == 6 && cache.entriesInUse == 0 && cache.bytes > 0)
        #expect(engine.status().epochViolations == 0)
    }

    /// The tiny fixture models: every reference case as a job's own set, and the last case as the global set
    /// for jobs without loras, in one batch; each job's greedy steps match transformers + peft.
    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage),
          arguments: ["tiny-llama", "tiny-llama-bf16-tied-sharded", "tiny-llama3-rope"], [AdapterSet.Mode.merged, .unmerged])
    func tinyModelsMatchTheReferenceInOneMixedBatch(modelName: String, globalMode: AdapterSet.Mode) throws {
        let reference = try TinyReference.load(modelName)
        let model = try LlamaModel(directory: FixtureLocation.model(modelName))
        var adapters: [String: LoraAdapter] = [:]
        func entries(_ loras: [TinyReference.LoraEntry]) throws -> [AdapterSet.Entry] {
            try loras.map { l in
                if adapters[l.adapter] == nil {
                    adapters[l.adapter] = try LoraAdapter(directory: FixtureLocation.adapter(modelName, l.adapter), model: model.config, name: l.adapter)
                }
                guard let adapter = adapters[l.adapter] else { throw TestFailure("adapter \(l.adapter)") }
                return AdapterSet.Entry(adapter: adapter, scale: l.scale)
            }
        }
        let globalCase = try #require(reference.cases.last { !$0.loras.isEmpty })
        let global = try AdapterSet(try entries(globalCase.loras), model: model, mode: globalMode)
        var logger = Logger(label: "test.tiny")
        logger.logLevel = .critical
        let engine = try Engine(model: model, tokenizer: nil,
                                configuration: EngineConfiguration(maxBatchSize: 32, kvCacheTokens: 8192, maxChunkTokens: 1024),
                                adapters: global, logger: logger)
        defer { engine.shutdown() }
        var jobs: [(request: GenerationRequest, result: TinyReference.Result, label: String)] = []
        for refCase in reference.cases {
            let own = try entries(refCase.loras)
            for r in refCase.results {
                let label = "\(modelName) \(refCase.loras.map { "\($0.adapter)×\($0.scale)" }) prompt \(r.prompt.prefix(3))"
                jobs.append((Self.greedy(r.prompt, steps: reference.steps, loras: own), r, "\(label) own"))
            }
        }
        for r in globalCase.results {
            jobs.append((Self.greedy(r.prompt, steps: reference.steps, loras: nil), r, "\(modelName) global \(globalMode) prompt \(r.prompt.prefix(3))"))
        }
        let batch = try PerJobBatch.run(engine, jobs.map(\.request))
        for (got, job) in zip(batch, jobs) {
            let steps = job.result.greedy
            let firstTie = steps.firstIndex { $0.margin < Tolerance.nearTieMargin } ?? (steps.count - 1)
            #expect(Array(got.tokens.prefix(firstTie + 1)) == steps.prefix(firstTie + 1).map { Int32($0.token) }, "\(job.label)")
            for i in 0...min(firstTie, got.logprobs.count - 1) where got.tokens[i] == Int32(steps[i].token) {
                #expect(abs(got.logprobs[i] - steps[i].logprob) <= Tolerance.logprob, "\(job.label) step \(i)")
            }
        }
        #expect(batch.count == reference.cases.reduce(0) { $0 + $1.results.count } + globalCase.results.count)
    }

    static func greedy(_ prompt: [Int32], steps: Int, loras: [AdapterSet.Entry]?) -> GenerationRequest {
        GenerationRequest(prompt: .tokens(prompt), sampling: .greedy, stop: StopConditions(maxNewTokens: steps, ignoreEos: true),
                          logprobs: true, loras: loras)
    }
}

/// The tiny models' reference files (prompts are token ids).
struct TinyReference: Decodable {
    struct LoraEntry: Decodable { var adapter: String; var scale: Float }
    struct Step: Decodable { var token: Int; var logprob: Float; var margin: Float }
    struct Result: Decodable { var prompt: [Int32]; var greedy: [Step] }
    struct Case: Decodable { var loras: [LoraEntry]; var results: [Result] }
    var steps: Int
    var cases: [Case]

    static func load(_ model: String) throws -> TinyReference {
        try JSONDecoder().decode(TinyReference.self, from: Data(contentsOf: FixtureLocation.reference(model)))
    }
}
