import Foundation
import LoraModel
import LoraNumerics

extension LoraBenchmark {
    /// `lorad-bench lora --per-job`: `jobs` decode jobs in one batch, (a) all on one shared unmerged adapter,
    /// (b) each on its own distinct adapter, both as jobs' own sets (`BatchAdapters.own`). Reports tokens/s, the
    /// bytes each step reads (base weights + adapter panels), the ratio (b)/(a), and (b)'s rate predicted from
    /// (a)'s by the bytes alone, as if a decode step were bound by the weight stream.
    func runPerJob() throws {
        let config = shape.config
        print("lorad-bench lora --per-job --shape \(shape.rawValue) --weights \(weights.rawValue) --rank \(rank) --jobs \(jobs) --rounds \(rounds) --steps \(steps)")
        print(MachineCeilings.machineDescription)
        let ceilings = MachineCeilings.measureAndReport()
        let model = try LlamaModel(randomWeights: config, seed: 3, element: weights.element)
        let pool = try (0..<jobs).map { try Self.randomAdapter(config, rank: rank, seed: UInt64($0 + 1)) }
        let sets = try pool.map { try AdapterSet([.init(adapter: $0, scale: 1)], model: model, mode: .unmerged) }
        let shared = BatchAdapters(own: [sets[0]], assignment: Array(repeating: 0, count: jobs))
        let distinct = BatchAdapters(own: sets, assignment: (0..<jobs).map { $0 })
        // The same adapters with f16 panels: half the delta's bytes (what the f32 engine does not do by default).
        let halfSets = try pool.map { try AdapterSet([.init(adapter: $0, scale: 1)], model: model, mode: .unmerged, deltaElement: .float16) }
        let halfShared = BatchAdapters(own: [halfSets[0]], assignment: Array(repeating: 0, count: jobs))
        let halfDistinct = BatchAdapters(own: halfSets, assignment: (0..<jobs).map { $0 })

        let baseBytes = model.weights.layers.reduce(model.weights.lmHead.byteCount) { sum, layer in
            sum + FusedLinear.allCases.reduce(0) { $0 + layer.weight($1).byteCount }
        }
        let bytesA = baseBytes + sets[0].extraBytes
        let bytesB = baseBytes + sets.reduce(0) { $0 + $1.extraBytes }
        let context = 64
        let kvBytes = jobs * (context + steps / 2) * config.layerCount * 2 * config.kvDim * 4
        print(String(format: "bytes per step: base weights %.1f MB; one adapter's panels %.1f MB; (a) %.1f MB, (b) %.1f MB (+ ~%.1f MB of KV cache in both)",
                     Double(baseBytes) / 1e6, Double(sets[0].extraBytes) / 1e6, Double(bytesA) / 1e6, Double(bytesB) / 1e6, Double(kvBytes) / 1e6))

        let cache = KVPagePool(config: config, pageSize: 16, tokens: jobs * (context + steps + 2 + 16) + 64)
        let scratch = ForwardScratch()
        // Interleaved rounds, best median of each: a noisy neighbour does not land on one configuration only.
        var rateA = 0.0, rateB = 0.0, halfA = 0.0, halfB = 0.0
        for _ in 0..<rounds {
            rateA = max(rateA, try decodeRate(model, adapters: shared, batch: jobs, cache: cache, scratch: scratch))
            rateB = max(rateB, try decodeRate(model, adapters: distinct, batch: jobs, cache: cache, scratch: scratch))
            halfA = max(halfA, try decodeRate(model, adapters: halfShared, batch: jobs, cache: cache, scratch: scratch))
            halfB = max(halfB, try decodeRate(model, adapters: halfDistinct, batch: jobs, cache: cache, scratch: scratch))
        }
        let predicted = rateA * Double(bytesA) / Double(bytesB)
        let ratio = rateB / rateA
        print(String(format: "(a) %d jobs on one shared adapter: %.1f tokens/s (%.1f ms a step, %.1f GB/s of weights)",
                     jobs, rateA, 1e3 * Double(jobs) / rateA, Double(bytesA) * rateA / Double(jobs) / 1e9))
        print(String(format: "(b) %d jobs on %d distinct adapters: %.1f tokens/s (%.1f ms a step, %.1f GB/s of weights)",
                     jobs, jobs, rateB, 1e3 * Double(jobs) / rateB, Double(bytesB) * rateB / Double(jobs) / 1e9))
        print(String(format: "(b)/(a) = %.1f%% (target ≥ 70%%); predicted by the bytes, (a) × bytes(a)/bytes(b): %.1f tokens/s; (b) is %+.1f%% of that (target within ±15%%); read bandwidth ceiling %.1f GB/s",
                     100 * ratio, predicted, 100 * (rateB / predicted - 1), ceilings.readBandwidthGBps))
        let halfBytesA = baseBytes + halfSets[0].extraBytes, halfBytesB = baseBytes + halfSets.reduce(0) { $0 + $1.extraBytes }
        let halfPredicted = halfA * Double(halfBytesA) / Double(halfBytesB)
        print(String(format: "with f16 adapter panels (deltaElement): (a) %.1f MB %.1f tokens/s, (b) %.1f MB %.1f tokens/s: (b)/(a) = %.1f%%, (b) %+.1f%% of its prediction %.1f tokens/s",
                     Double(halfBytesA) / 1e6, halfA, Double(halfBytesB) / 1e6, halfB, 100 * halfB / halfA, 100 * (halfB / halfPredicted - 1), halfPredicted))
    }
}
