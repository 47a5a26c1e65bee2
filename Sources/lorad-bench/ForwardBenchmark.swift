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

    @Option(help: KVCachePrecision.help)
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
        let longest = batches.values.map(positionsPerSequence).max() ?? 0
        guard longest <= shape.config.maxPositions else {
            throw ValidationError("--context \(context) and --steps \(steps) need \(longest) positions, more than the \(shape.rawValue) shape's \(shape.config.maxPositions)")
        }
    }

    /// Positions one sequence of a decode round at `batch` reaches: the context, a warm-up and `steps` timed
    /// steps; batch 1 runs `steps` more, each paired with its own bandwidth probe.
    func positionsPerSequence(batch: Int) -> Int { context + (batch == 1 ? 2 : 1) * steps + 1 }

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
        let cache = KVPagePool(config: config, pageSize: pageSize, tokens: max(prompt, batchSizes.map { $0 * positionsPerSequence(batch: $0) }.max() ?? 0) + pageSize * maxBatch, precision: kvCache)
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
                if let paired = round.pairedRatios {
                    print(String(format: "decode batch %2d, each step right after its own %d MiB probe: median %.0f%% of that probe's bound (%.0f–%.0f%% over %d steps; probes %.1f–%.1f GB/s)",
                                 batch, Self.pairedProbeBytes >> 20, 100 * paired.median, 100 * paired.low, 100 * paired.high, steps, paired.lowGBps, paired.highGBps))
                }
            }
            guard measured.count > 1 else { continue }
            // Each round against the bandwidth probed around it: the same-run ceiling closest in time.
            let ratios = measured.map { 100 * Double(weightBytes) / ($0.aroundGBps * 1e9) / $0.medianStep }.sorted()
            let rates = measured.map(\.tokensPerSecond).sorted()
            print(String(format: "decode batch %2d over %d rounds: median %.0f%% of the bound measured around each round (%.0f–%.0f%%), median %.1f tokens/s (%.1f–%.1f)",
                         batch, measured.count, ratios[ratios.count / 2], ratios[0], ratios[ratios.count - 1],
                         rates[rates.count / 2], rates[0], rates[rates.count - 1]))
            let paired = measured.compactMap(\.pairedRatios).map(\.median).sorted()
            if !paired.isEmpty {
                print(String(format: "decode batch %2d over %d rounds, steps against their own probes: median of round medians %.0f%% (%.0f–%.0f%%)",
                             batch, paired.count, 100 * paired[paired.count / 2], 100 * paired[0], 100 * paired[paired.count - 1]))
            }
        }
    }

    /// One decode measurement: median step, tokens/s, and the mean of the bandwidth probes before and after.
    struct DecodeRound {
        var medianStep: Double
        var tokensPerSecond: Double
        var aroundGBps: Double
        /// Batch 1 only: each step's bound from the probe taken just before it, over the step's time.
        var pairedRatios: PairedRatios?
    }

    /// Per-step ratios (bound from the step's own probe / step time): median, range, and the probes' range.
    struct PairedRatios {
        var median: Double, low: Double, high: Double
        var lowGBps: Double, highGBps: Double
    }

    /// The probe read right before each paired step: far larger than the last-level cache, yet short enough
    /// that the bandwidth it sees is the one the step that follows sees.
    static let pairedProbeBytes = 256 << 20

    /// Fills `batch` sequences with `context` positions (untimed), then times one warm-up and `steps` decode steps
    /// between two bandwidth probes; at batch 1 then `steps` more (positions context + steps + 1 onwards), each
    /// right after a probe of its own.
    private func decodeRound(_ model: LlamaModel, batch: Int, cache: KVPagePool, scratch: ForwardScratch, promptTokens: [Int32]) throws -> DecodeRound {
        let config = model.config
        var pages: [[Int32]] = []
        for _ in 0..<batch { pages.append(try allocate(cache, positionsPerSequence(batch: batch))) }
        defer { for p in pages { cache.release(p) } }
        let contextTokens = Array(promptTokens.prefix(context)) + Array(repeating: 5, count: max(0, context - prompt))
        for s in 0..<batch {
            _ = try model.forward([SequenceChunk(tokens: contextTokens, pages: pages[s], cachedLength: 0, logits: .last)], cache: cache, scratch: scratch)
        }
        var cached = context
        // One decode step of every sequence at the next position, timed.
        func step(_ index: Int) throws -> Double {
            let chunks = (0..<batch).map { SequenceChunk(tokens: [Int32((index * 13 + $0) % config.vocabSize)], pages: pages[$0], cachedLength: cached) }
            let t = Clock.now()
            _ = try model.forward(chunks, cache: cache, scratch: scratch)
            cached += 1
            return Clock.seconds(since: t)
        }
        // The bandwidth drifts within minutes on a shared host (docs/performance.md): probe it right before and
        // after the timed steps too, and compare the steps with the mean of those two as well as with the start's.
        let before = MachineCeilings.readBandwidth(bytes: 1 << 29)
        var times: [Double] = []
        for index in 0...steps {
            let seconds = try step(index)
            if index > 0 { times.append(seconds) }
        }
        let after = MachineCeilings.readBandwidth(bytes: 1 << 29)
        var paired: PairedRatios?
        if batch == 1 {
            // The bandwidth moves within seconds here, so probes minutes or even a round apart misjudge the
            // bound: pair every step with a single read of a buffer just before it (one pass each, like the step).
            let probe = MachineCeilings.ProbeBuffer(bytes: Self.pairedProbeBytes)
            let bytes = Double(model.weights.decodeReadBytes)
            var ratios: [Double] = [], rates: [Double] = []
            for index in 0..<steps {
                let gbps = probe.readOnce()
                ratios.append(bytes / (gbps * 1e9) / (try step(steps + 1 + index)))
                rates.append(gbps)
            }
            ratios.sort()
            paired = PairedRatios(median: ratios[ratios.count / 2], low: ratios[0], high: ratios[ratios.count - 1],
                                  lowGBps: rates.min() ?? 0, highGBps: rates.max() ?? 0)
        }
        return DecodeRound(medianStep: times.sorted()[times.count / 2], tokensPerSecond: Double(batch * steps) / times.reduce(0, +),
                           aroundGBps: (before + after) / 2, pairedRatios: paired)
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
