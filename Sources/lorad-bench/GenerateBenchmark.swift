import ArgumentParser
import Dispatch
import Foundation
import Logging
import LoraEngine
import LoraModel
import LoraNumerics
import Synchronization

/// `lorad-bench generate`: the engine end to end on a synthesized model: total tokens/s with 1, 4 and 16
/// concurrent jobs, with 0 and 2 active adapters; time to first token; setLoras commit latency idle and busy.
struct GenerateBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Engine throughput, time to first token and setLoras commit latency.")

    @Option(help: "Model shape: \(ModelShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: ModelShape = .smollm2135m

    @Option(help: WeightFormat.help)
    var weights: WeightFormat = .f32

    @Option(help: KVCachePrecision.help)
    var kvCache = KVCachePrecision.f32

    @Option(help: "Prompt tokens per job.")
    var prompt = 128

    @Option(help: "New tokens per job.")
    var tokens = 128

    @Option(help: "Comma-separated numbers of concurrent jobs.")
    var concurrency = IntegerList([1, 4, 16])

    @Option(help: "LoRA rank of the synthesized adapters.")
    var rank = 8

    @Option(help: "Sampling temperature of every job (0: greedy).")
    var temperature: Float = 0

    @Flag(help: "Skip the machine ceilings measurement.")
    var noCeilings = false

    /// Timestamps the sinks and the commit hook record (engine thread).
    final class Recorder: Sendable {
        struct Job { var firstTokenAt: UInt64?; var finishedAt: UInt64?; var tokens = 0; var summary: JobSummary? }
        let jobs = Mutex<[JobID: Job]>([:])
        let commitAt = Mutex<UInt64>(0)
        let finished = DispatchSemaphore(value: 0)

        func sink(_ event: JobEvent) {
            let now = Clock.now()
            jobs.withLock { all in
                switch event {
                case .started: break
                case let .tokens(id, ids, _, _):
                    if all[id]?.firstTokenAt == nil { all[id, default: Job()].firstTokenAt = now }
                    all[id, default: Job()].tokens += ids.count
                case let .finished(id, summary):
                    all[id, default: Job()].finishedAt = now
                    all[id, default: Job()].summary = summary
                }
            }
            if case .finished = event { finished.signal() }
        }
    }

    func validate() throws {
        try requireAtLeast(1, prompt, option: "--prompt")
        try requireAtLeast(1, tokens, option: "--tokens")
        try requireAtLeast(1, rank, option: "--rank")
        guard temperature.isFinite, temperature >= 0 else { throw ValidationError("--temperature must be a finite number ≥ 0") }
        try concurrency.require(atLeast: 1, option: "--concurrency")
    }

    mutating func run() throws {
        let config = shape.config
        let counts = concurrency.values
        let maxJobs = counts.max() ?? 1
        print("lorad-bench generate --shape \(shape.rawValue) --weights \(weights.rawValue) --kv-cache \(kvCache.rawValue) --prompt \(prompt) --tokens \(tokens) --concurrency \(concurrency) --temperature \(temperature)")
        print(MachineCeilings.machineDescription)
        if !noCeilings {
            MachineCeilings.measureAndReport()
        }
        let model = try LlamaModel(randomWeights: config, seed: 7, element: weights.element)
        let pool = try (0..<2).map { try LoraBenchmark.randomAdapter(config, rank: rank, seed: UInt64($0 + 1)) }
        let entries = pool.map { AdapterSet.Entry(adapter: $0, scale: 1) }
        let engineConfig = EngineConfiguration(
            maxBatchSize: maxJobs, kvCacheTokens: maxJobs * (prompt + tokens) + 256, maxChunkTokens: 256, maxQueuedJobs: 4 * maxJobs,
            kvCachePrecision: kvCache)
        var logger = Logger(label: "bench", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning

        let variants: [(String, AdapterSet)] = [
            ("base", .none),
            ("2 adapters merged", try AdapterSet(entries, model: model, mode: .merged)),
            ("2 adapters unmerged", try AdapterSet(entries, model: model, mode: .unmerged)),
        ]
        for (label, set) in variants {
            // Job ids start at 1 in every engine: one recorder each.
            let recorder = Recorder()
            let engine = try Engine(model: model, tokenizer: nil, configuration: engineConfig, adapters: set, logger: logger,
                                    commitHook: { _ in recorder.commitAt.withLock { $0 = Clock.now() } })
            defer { engine.shutdown() }
            _ = try runJobs(engine, recorder, count: 1, promptLength: 16, newTokens: 4, vocab: config.vocabSize, seed: 99)  // warm-up
            for n in counts {
                let r = try runJobs(engine, recorder, count: n, promptLength: prompt, newTokens: tokens, vocab: config.vocabSize, seed: UInt64(n))
                // Decode throughput (all jobs running, one token each per step) is what llama.cpp's batched
                // figures measure; the end-to-end rate also pays for every prompt's prefill.
                // With one new token per job there is no decode phase to time.
                let decode = tokens < 2 ? "decode n/a (one token per job)"
                    : String(format: "decode %6.1f tokens/s total (step %.1f ms)", Double(n) / max(r.decodeStep, 1e-9), r.decodeStep * 1e3)
                print(String(format: "%-20@ %2d jobs: %@; end to end %6.1f tokens/s (%d tokens in %.2f s, prefill included); time to first token mean %.0f ms, max %.0f ms",
                             label, n, decode, Double(r.tokens) / r.seconds, r.tokens, r.seconds, r.ttftMean * 1e3, r.ttftMax * 1e3))
            }
        }

        // setLoras on an idle engine: the barrier and commit only (the set is built before the call).
        let recorder = Recorder()
        let engine = try Engine(model: model, tokenizer: nil, configuration: engineConfig, logger: logger,
                                commitHook: { _ in recorder.commitAt.withLock { $0 = Clock.now() } })
        defer { engine.shutdown() }
        let sets = [variants[1].1, AdapterSet.none]
        _ = try runJobs(engine, recorder, count: 1, promptLength: 16, newTokens: 4, vocab: config.vocabSize, seed: 98)  // engine up, KV pool allocated
        var idle: [Double] = []
        for i in 0..<20 {
            let t = Clock.now()
            _ = try engine.setLoras(prebuilt: sets[i % 2])
            idle.append(Clock.seconds(since: t))
        }
        idle.sort()
        let buildStart = Clock.now()
        _ = try engine.buildSet(entries)
        print(String(format: "setLoras idle: commit %.3f ms median, %.3f ms max of 20 (building the 2-adapter set first takes %.0f ms, on the caller's thread)",
                     idle[idle.count / 2] * 1e3, (idle.last ?? 0) * 1e3, Clock.seconds(since: buildStart) * 1e3))

        // setLoras while busy: 4 jobs running; the commit should land within one step of the last one finishing.
        var lags: [Double] = [], steps: [Double] = []
        for round in 0..<3 {
            let ids = try submit(engine, recorder, count: 4, promptLength: prompt, newTokens: 32, vocab: config.vocabSize, seed: UInt64(50 + round))
            while recorder.jobs.withLock({ all in ids.contains { all[$0]?.firstTokenAt == nil } }) { usleep(200) }
            _ = try engine.setLoras(prebuilt: sets[round % 2])
            for _ in ids { recorder.finished.wait() }
            let (lastFinish, step) = recorder.jobs.withLock { all -> (UInt64, Double) in
                let done = ids.compactMap { all[$0] }
                let last = done.compactMap(\.finishedAt).max() ?? 0
                let perStep = done.map { j in Double((j.finishedAt ?? 0) - (j.firstTokenAt ?? 0)) / 1e9 / Double(max(1, j.tokens - 1)) }
                return (last, perStep.max() ?? 0)
            }
            let commit = recorder.commitAt.withLock { $0 }
            lags.append(Double(Int64(bitPattern: commit &- lastFinish)) / 1e9)
            steps.append(step)
        }
        print(String(format: "setLoras busy (4 jobs): commit %.3f ms after the last earlier job finished (median of 3; decode step %.1f ms)",
                     lags.sorted()[1] * 1e3, steps.sorted()[1] * 1e3))
    }

    struct RunResult { var tokens: Int; var seconds: Double; var ttftMean: Double; var ttftMax: Double; var decodeStep: Double }

    private func submit(_ engine: Engine, _ recorder: Recorder, count: Int, promptLength: Int, newTokens: Int, vocab: Int, seed: UInt64) throws -> [JobID] {
        var ids: [JobID] = []
        for j in 0..<count {
            let promptTokens = (0..<promptLength).map { Int32((UInt64($0 * 7919 + j * 104_729) &+ seed &* 31) % UInt64(vocab)) }
            let id = try engine.submit(
                GenerationRequest(prompt: .tokens(promptTokens), sampling: temperature == 0 ? .greedy : SamplingParameters(temperature: temperature, seed: seed &+ UInt64(j)), stop: StopConditions(maxNewTokens: newTokens, ignoreEos: true)),
                sink: { recorder.sink($0) })
            ids.append(id)
        }
        return ids
    }

    private func runJobs(_ engine: Engine, _ recorder: Recorder, count: Int, promptLength: Int, newTokens: Int, vocab: Int, seed: UInt64) throws -> RunResult {
        let start = Clock.now()
        let ids = try submit(engine, recorder, count: count, promptLength: promptLength, newTokens: newTokens, vocab: vocab, seed: seed)
        for _ in ids { recorder.finished.wait() }
        let seconds = Clock.seconds(since: start)
        return recorder.jobs.withLock { all in
            let jobs = ids.compactMap { all[$0] }
            // Submission to first token, as the engine timed it.
            let ttft = jobs.map { ($0.summary?.queueSeconds ?? 0) + ($0.summary?.prefillSeconds ?? 0) }
            let lastFirst = jobs.compactMap(\.firstTokenAt).max() ?? start
            let end = jobs.compactMap(\.finishedAt).max() ?? start
            return RunResult(
                tokens: jobs.reduce(0) { $0 + $1.tokens }, seconds: seconds,
                ttftMean: ttft.reduce(0, +) / Double(max(1, ttft.count)), ttftMax: ttft.max() ?? 0,
                decodeStep: Double(end - lastFirst) / 1e9 / Double(max(1, newTokens - 1)))
        }
    }
}
