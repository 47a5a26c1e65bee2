import ArgumentParser
import Foundation
import LoraModel
import LoraNumerics

/// `lorad-bench forward`: prefill and decode throughput of the forward pass on a synthesized model, as ratios
/// to this machine's sgemm peak and memory bandwidth measured in the same run.
struct ForwardBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Prefill and batched decode throughput against the machine's sgemm and bandwidth ceilings.")

    @Option(help: "Model shape: \(ModelShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: ModelShape = .smollm2135m

    @Option(help: WeightFormat.help)
    var weights: WeightFormat = .f32

    @Option(help: "How the KV cache stores keys and values: f32 or f16.")
    var kvCache = KVCachePrecision.f32

    @Option(help: "Prompt length for the prefill measurement.")
    var prompt = 512

    @Option(help: "Cached context of each sequence before decode is timed.")
    var context = 128

    @Option(help: "Decode steps timed per batch size.")
    var steps = 32

    @Option(help: "Comma-separated decode batch sizes.")
    var batches = IntegerList([1, 4, 16])

    @Option(help: "Decode measurements per batch size, each between its own bandwidth probes; with more than one, a summary gives the median and range (a shared host drifts by ±20% within minutes).")
    var rounds = 1

    func validate() throws {
        try requireAtLeast(1, rounds, option: "--rounds")
        try requireAtLeast(1, prompt, option: "--prompt")
        try requireAtLeast(1, context, option: "--context")
        try requireAtLeast(1, steps, option: "--steps")
        try batches.require(atLeast: 1, option: "--batches")
    }

    mutating func run() throws {
        let config = shape.config
        let batchSizes = batches.values
        print("lorad-bench forward --shape \(shape.rawValue) --weights \(weights.rawValue) --kv-cache \(kvCache.rawValue)")
        print(MachineCeilings.machineDescription)
        let ceilings = MachineCeilings.measureAndReport()

        let t0 = Clock.now()
        let model = try LlamaModel(randomWeights: config, seed: 7, element: weights.element)
        let weightBytes = model.weights.decodeReadBytes
        print(String(format: "model: %d parameters, %.1f MB of %@ weights read per decode step (built in %.1f s)",
                     ModelShape.parameterCount(config), Double(weightBytes) / 1e6, weights.rawValue, Clock.seconds(since: t0)))

        // Prefill: one chunk of `prompt` tokens, logits for the last position only.
        let maxBatch = batchSizes.max() ?? 1
        let pageSize = 16
        let cache = KVPagePool(config: config, pageSize: pageSize, tokens: max(prompt, (context + steps + 1) * maxBatch) + pageSize * maxBatch, precision: kvCache)
        let scratch = ForwardScratch()
        let promptTokens = (0..<prompt).map { Int32(($0 * 31 + 7) % config.vocabSize) }
        var bestPrefill = Double.infinity
        for _ in 0..<2 {
            let pages = try allocate(cache, prompt)
            let t = Clock.now()
            _ = try model.forward([SequenceChunk(tokens: promptTokens, pages: pages, cachedLength: 0, logits: .last)], cache: cache, scratch: scratch)
            bestPrefill = min(bestPrefill, Clock.seconds(since: t))
            cache.release(pages)
        }
        let prefillFLOPs = Self.prefillFLOPs(config, tokens: prompt)
        let prefillRatio = prefillFLOPs / bestPrefill / 1e9 / ceilings.sgemmGFLOPS
        print(String(format: "prefill %d tokens: %.1f tokens/s, %.1f GFLOP/s = %.0f%% of sgemm peak (target ≥ 75%%)",
                     prompt, Double(prompt) / bestPrefill, prefillFLOPs / bestPrefill / 1e9, 100 * prefillRatio))

        for batch in batchSizes {
            var measured: [DecodeRound] = []
            for _ in 0..<self.rounds {
                let round = try decodeRound(model, batch: batch, cache: cache, scratch: scratch, promptTokens: promptTokens)
                measured.append(round)
                let boundSeconds = Double(weightBytes) / (ceilings.readBandwidthGBps * 1e9)
                let aroundBound = Double(weightBytes) / (round.aroundGBps * 1e9)
                let stepFLOPs = Self.decodeFLOPs(config, batch: batch, context: context + steps / 2)
                print(String(format: "decode batch %2d (context %d): %.1f tokens/s, median step %.2f ms; bandwidth bound %.2f ms/step → %.0f%% of bound%@ (%.0f%% of %.2f ms at the %.1f GB/s measured around these steps); %.0f%% of sgemm peak",
                             batch, context, round.tokensPerSecond, round.medianStep * 1e3, boundSeconds * 1e3, 100 * boundSeconds / round.medianStep,
                             batch == 1 ? " (target ≥ 90%)" : "", 100 * aroundBound / round.medianStep, aroundBound * 1e3, round.aroundGBps,
                             100 * stepFLOPs / round.medianStep / 1e9 / ceilings.sgemmGFLOPS))
            }
            guard measured.count > 1 else { continue }
            // Each round against the bandwidth probed around it: the same-run ceiling closest in time.
            let ratios = measured.map { 100 * Double(weightBytes) / ($0.aroundGBps * 1e9) / $0.medianStep }.sorted()
            let rates = measured.map(\.tokensPerSecond).sorted()
            print(String(format: "decode batch %2d over %d rounds: median %.0f%% of the bound measured around each round (%.0f–%.0f%%), median %.1f tokens/s (%.1f–%.1f)",
                         batch, measured.count, ratios[ratios.count / 2], ratios[0], ratios[ratios.count - 1],
                         rates[rates.count / 2], rates[0], rates[rates.count - 1]))
        }
    }

    /// One decode measurement: median step, tokens/s, and the mean of the bandwidth probes before and after.
    struct DecodeRound {
        var medianStep: Double
        var tokensPerSecond: Double
        var aroundGBps: Double
    }

    /// Fills `batch` sequences with `context` positions (untimed), then times one warm-up and `steps` decode steps
    /// between two bandwidth probes.
    private func decodeRound(_ model: LlamaModel, batch: Int, cache: KVPagePool, scratch: ForwardScratch, promptTokens: [Int32]) throws -> DecodeRound {
        let config = model.config
        var pages: [[Int32]] = []
        for _ in 0..<batch { pages.append(try allocate(cache, context + steps + 1)) }
        defer { for p in pages { cache.release(p) } }
        let contextTokens = Array(promptTokens.prefix(context)) + Array(repeating: 5, count: max(0, context - prompt))
        for s in 0..<batch {
            _ = try model.forward([SequenceChunk(tokens: contextTokens, pages: pages[s], cachedLength: 0, logits: .last)], cache: cache, scratch: scratch)
        }
        var cached = context
        // The bandwidth drifts by ±20% within minutes on a shared host: probe it right before and after the
        // timed steps too, and compare the steps with the mean of those two as well as with the start's.
        let before = MachineCeilings.readBandwidth(bytes: 1 << 29)
        var times: [Double] = []
        for step in 0...steps {
            let chunks = (0..<batch).map { SequenceChunk(tokens: [Int32((step * 13 + $0) % config.vocabSize)], pages: pages[$0], cachedLength: cached) }
            let t = Clock.now()
            _ = try model.forward(chunks, cache: cache, scratch: scratch)
            if step > 0 { times.append(Clock.seconds(since: t)) }
            cached += 1
        }
        let after = MachineCeilings.readBandwidth(bytes: 1 << 29)
        return DecodeRound(medianStep: times.sorted()[times.count / 2], tokensPerSecond: Double(batch * steps) / times.reduce(0, +),
                           aroundGBps: (before + after) / 2)
    }

    private func allocate(_ cache: KVPagePool, _ positions: Int) throws -> [Int32] {
        guard let pages = cache.allocate(cache.pagesNeeded(forPositions: positions)) else {
            throw ValidationError("benchmark KV cache too small")
        }
        return pages
    }

    /// Linear layers over all tokens, causal attention, LM head for one position.
    static func prefillFLOPs(_ c: LlamaConfig, tokens t: Int) -> Double {
        let linear = Double(ModelShape.linearWeightsPerLayer(c))
        let attention = 2.0 * 2.0 * Double(c.headCount * c.headDim) * Double(t) * Double(t + 1) / 2
        return Double(c.layerCount) * (2 * linear * Double(t) + attention) + 2 * Double(c.vocabSize * c.hiddenSize)
    }

    static func decodeFLOPs(_ c: LlamaConfig, batch: Int, context: Int) -> Double {
        let linear = Double(ModelShape.linearWeightsPerLayer(c))
        let attention = 2.0 * 2.0 * Double(c.headCount * c.headDim) * Double(context)
        return Double(batch) * (Double(c.layerCount) * (2 * linear + attention) + 2 * Double(c.vocabSize * c.hiddenSize))
    }
}
