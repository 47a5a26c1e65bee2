import ArgumentParser
import Foundation
import LoraModel
import LoraNumerics

/// `lorad-bench lora`: decode cost of active adapters in each mode, and the time to build an AdapterSet.
struct LoraBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "Decode throughput with 0–4 rank-16 adapters on all projections, merged and unmerged, and set build times.")

    @Option(help: "Model shape.")
    var shape: ModelShape = .smollm2135m

    @Option(help: WeightFormat.help)
    var weights: WeightFormat = .f32

    @Option(help: "Adapter rank.")
    var rank = 16

    @Option(help: "Comma-separated decode batch sizes.")
    var batches = IntegerList([1, 8])

    @Option(help: "Comma-separated adapter counts.")
    var adapters = IntegerList([0, 1, 2, 4])

    @Option(help: "Decode steps timed per measurement.")
    var steps = 24

    @Flag(help: "Per-job adapters: --jobs decode jobs all on one shared unmerged adapter, then each on its own.")
    var perJob = false

    @Option(help: "Concurrent jobs for --per-job.")
    var jobs = 16

    @Option(help: "Interleaved rounds for --per-job (each configuration keeps its best median).")
    var rounds = 5

    func validate() throws {
        try requireAtLeast(1, rank, option: "--rank")
        try requireAtLeast(1, steps, option: "--steps")
        try batches.require(atLeast: 1, option: "--batches")
        try adapters.require(atLeast: 0, option: "--adapters")
        try requireAtLeast(1, jobs, option: "--jobs")
        try requireAtLeast(1, rounds, option: "--rounds")
    }

    mutating func run() throws {
        if perJob { return try runPerJob() }
        let config = shape.config
        print("lorad-bench lora --shape \(shape.rawValue) --weights \(weights.rawValue) --rank \(rank)")
        MachineCeilings.measureAndReport()
        let model = try LlamaModel(randomWeights: config, seed: 3, element: weights.element)
        let counts = adapters.values
        let batchSizes = batches.values
        let pool = try (0..<(counts.max() ?? 0)).map { try Self.randomAdapter(config, rank: rank, seed: UInt64($0 + 1)) }
        if let first = pool.first {
            print(String(format: "one adapter: %.1f MB resident (rank %d, all seven projections of %d layers)", Double(first.residentBytes) / 1e6, rank, config.layerCount))
        }

        // Build times.
        for mode in [AdapterSet.Mode.merged, .unmerged] {
            for n in counts where n > 0 {
                let entries = pool.prefix(n).map { AdapterSet.Entry(adapter: $0, scale: 1) }
                var best = Double.infinity
                var extra = 0
                for _ in 0..<3 {
                    let t = Clock.now()
                    let set = try AdapterSet(Array(entries), model: model, mode: mode)
                    best = min(best, Clock.seconds(since: t))
                    extra = set.extraBytes
                }
                print(String(format: "build %-8@ %d adapter(s): %.1f ms, %.1f MB extra", mode.rawValue, n, best * 1e3, Double(extra) / 1e6))
            }
        }

        let cache = KVPagePool(config: config, pageSize: 16, tokens: (batchSizes.max() ?? 1) * (64 + steps * 4 + 16) + 64)
        let scratch = ForwardScratch()
        // Every configuration is measured in 3 interleaved rounds and keeps its best median, so a noisy
        // neighbour or a cold start does not land on one configuration only.
        for batch in batchSizes {
            var configs: [(label: String, set: AdapterSet)] = [("base", .none)]
            for n in counts where n > 0 {
                for mode in [AdapterSet.Mode.merged, .unmerged] {
                    configs.append(("\(mode.rawValue) \(n)", try AdapterSet(pool.prefix(n).map { .init(adapter: $0, scale: 1) }, model: model, mode: mode)))
                }
            }
            var best = [Double](repeating: 0, count: configs.count)
            for _ in 0..<3 {
                for (i, config) in configs.enumerated() {
                    best[i] = max(best[i], try decodeRate(model, adapters: BatchAdapters(shared: config.set), batch: batch, cache: cache, scratch: scratch))
                }
            }
            for (i, config) in configs.enumerated() {
                print(String(format: "decode batch %2d %-12@ %.1f tokens/s (%+.1f%% vs base)", batch, config.label, best[i], 100 * (best[i] / best[0] - 1)))
            }
        }
    }

    /// Tokens/s over `steps` decode steps of `batch` sequences with 64 cached positions each, each sequence under
    /// its adapters of `adapters` (prefilled alone under them).
    func decodeRate(_ model: LlamaModel, adapters: BatchAdapters, batch: Int, cache: KVPagePool, scratch: ForwardScratch) throws -> Double {
        let context = 64
        var pages: [[Int32]] = []
        for _ in 0..<batch {
            guard let p = cache.allocate(cache.pagesNeeded(forPositions: context + steps + 2)) else { throw ValidationError("KV cache too small") }
            pages.append(p)
        }
        defer { for p in pages { cache.release(p) } }
        let prompt = (0..<context).map { Int32(($0 * 11 + 3) % model.config.vocabSize) }
        for s in 0..<batch {
            var alone = adapters
            alone.assignment = adapters.assignment.isEmpty ? [] : [adapters.assignment[s]]
            _ = try model.forward([SequenceChunk(tokens: prompt, pages: pages[s], cachedLength: 0)], cache: cache, scratch: scratch, adapters: alone)
        }
        var times: [Double] = []
        for step in 0...steps {
            let chunks = (0..<batch).map { SequenceChunk(tokens: [Int32((step * 7 + $0) % 100)], pages: pages[$0], cachedLength: context + step) }
            let t = Clock.now()
            _ = try model.forward(chunks, cache: cache, scratch: scratch, adapters: adapters)
            if step > 0 { times.append(Clock.seconds(since: t)) }
        }
        // Median step: robust to the machine's neighbours.
        return Double(batch) / times.sorted()[times.count / 2]
    }

    /// An adapter of `rank` on all seven projections with small random weights.
    static func randomAdapter(_ c: LlamaConfig, rank: Int, seed: UInt64) throws -> LoraAdapter {
        let random = RandomWeights(seed: seed)
        var modules: [LoraModuleKey: LoraModuleWeights] = [:]
        for layer in 0..<c.layerCount {
            for module in LlamaModule.allCases {
                let (out, inDim) = module.shape(c)
                let a = try random.tensor("a", shape: [rank, inDim])
                let b = try random.tensor("b", shape: [out, rank])
                modules[LoraModuleKey(layer: layer, module: module)] = LoraModuleWeights(
                    a: Matrix(rows: rank, cols: inDim, storage: a), b: Matrix(rows: out, cols: rank, storage: b),
                    scaling: 0.01)
            }
        }
        let config = try PEFTAdapterConfig(json: Data(#"{"peft_type":"LORA","r":\#(rank),"lora_alpha":\#(rank),"target_modules":"all-linear"}"#.utf8), path: "synthetic")
        return LoraAdapter(name: "random-\(seed)", config: config, modules: modules)
    }
}
