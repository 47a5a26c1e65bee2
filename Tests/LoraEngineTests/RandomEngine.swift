import Dispatch
import Foundation
import Logging
@testable import LoraEngine
import LoraEngineTestSupport
import LoraModel
import LoraNumerics
import Synchronization

/// A setLoras clock the test moves by hand: deadlines pass exactly when the test says, with no sleeps.
final class ManualClock: Sendable {
    private let nanos = Atomic<UInt64>(1_000)
    var now: UInt64 { nanos.load(ordering: .sequentiallyConsistent) }
    func advance(_ d: Duration) { nanos.add(Engine.nanoseconds(d), ordering: .sequentiallyConsistent) }
    var function: @Sendable () -> UInt64 { { [self] in now } }
}

/// A small random-weight model with two random adapters, built in memory: the engine and setLoras tests
/// that need no fixtures run on it.
enum RandomEngine {
    static let config = LlamaConfig(
        hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 8,
        vocabSize: 64, maxPositions: 512, tieWordEmbeddings: false, ropeTheta: 10_000, eosTokenIds: [2])

    static let model: Result<LlamaModel, any Error> = Result { try LlamaModel(randomWeights: config, seed: 41) }

    /// An adapter of rank 2 on every projection, with weights large enough to change the greedy tokens.
    static func adapter(_ name: String, seed: UInt64) throws -> LoraAdapter {
        let random = RandomWeights(seed: seed)
        var modules: [LoraModuleKey: LoraModuleWeights] = [:]
        for layer in 0..<config.layerCount {
            for module in LlamaModule.allCases {
                let (out, inDim) = module.shape(config)
                let a = Matrix(rows: 2, cols: inDim, storage: try random.tensor("\(layer).\(module).a", shape: [2, inDim]))
                let b = Matrix(rows: out, cols: 2, storage: try random.tensor("\(layer).\(module).b", shape: [out, 2]))
                modules[LoraModuleKey(layer: layer, module: module)] = LoraModuleWeights(a: a, b: b, scaling: 4)
            }
        }
        let peft = try PEFTAdapterConfig(json: Data(#"{"peft_type":"LORA","r":2,"lora_alpha":8,"target_modules":"all-linear"}"#.utf8), path: "random")
        return LoraAdapter(name: name, config: peft, modules: modules)
    }

    static func set(_ engine: Engine, _ name: String, seed: UInt64) throws -> AdapterSet {
        try engine.buildSet([AdapterSet.Entry(adapter: try adapter(name, seed: seed), scale: 1)])
    }

    /// An engine on the random model, with no tokenizer (prompts are token ids), driven by `clock`.
    static func engine(
        _ configuration: EngineConfiguration = EngineConfiguration(kvCacheTokens: 4096), initialEpoch: UInt64 = 0,
        clock: ManualClock? = nil, commitHook: CommitHook? = nil
    ) throws -> Engine {
        var logger = Logger(label: "test.random-engine")
        logger.logLevel = .critical
        return try Engine(model: try model.get(), tokenizer: nil, configuration: configuration, adapters: .none, initialEpoch: initialEpoch,
                          defaultSampling: .greedy, logger: logger, commitHook: commitHook, clock: clock?.function ?? Engine.systemClock)
    }

    /// A greedy job of `tokens` new tokens that ignores EOS.
    static func job(_ tokens: Int, prompt: [Int32] = [1, 5, 9, 13]) -> GenerationRequest {
        GenerationRequest(prompt: .tokens(prompt), sampling: .greedy, stop: StopConditions(maxNewTokens: tokens, ignoreEos: true))
    }
}

/// A gate a test opens once; waiting on it never times out in a passing test (the wait is bounded only so a
/// broken build fails instead of hanging).
final class Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func open() { semaphore.signal() }
    @discardableResult
    func wait(seconds: Double = 30) -> Bool { semaphore.wait(timeout: .now() + seconds) == .success }
}

/// The outcome of one completion-form setLoras call.
final class Outcome: Sendable {
    private let result = Mutex<Result<SetLorasResult, any Error>?>(nil)
    private let gate = Gate()
    var completion: Engine.SetLorasCompletion {
        { [self] r in
            result.withLock { $0 = r }
            gate.open()
        }
    }
    /// Waits for the outcome; nil if none came.
    func wait() -> Result<SetLorasResult, any Error>? {
        guard gate.wait() else { return nil }
        return result.withLock { $0 }
    }
    var now: Result<SetLorasResult, any Error>? { result.withLock { $0 } }
}

/// Things that happened, in order, across threads.
final class Timeline: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ s: String) { entries.withLock { $0.append(s) } }
    var all: [String] { entries.withLock { $0 } }
    func index(_ s: String) -> Int? { all.firstIndex(of: s) }
}
