import Foundation
import LoraModel
import LoraNumerics
import Testing

/// Every case (adapters with scales, several at once, negative scales, rsLoRA) of every reference file, in
/// both modes, against transformers + peft.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct ReferenceAdapterTests {
    static let cases: [(String, AdapterSet.Mode)] = Fixtures.referenceModels.flatMap { m in
        [AdapterSet.Mode.merged, .unmerged].map { (m, $0) }
    }

    static func adapterSet(_ loras: [Fixtures.Reference.LoraEntry], modelName: String, model: LlamaModel, mode: AdapterSet.Mode) throws -> AdapterSet {
        let entries = try loras.map {
            AdapterSet.Entry(adapter: try LoraAdapter(directory: Fixtures.adapter(modelName, $0.adapter), model: model.config), scale: $0.scale)
        }
        return try AdapterSet(entries, model: model, mode: mode)
    }

    @Test(arguments: cases)
    func everyCaseMatchesPeft(modelName: String, mode: AdapterSet.Mode) throws {
        let reference = try Fixtures.reference(modelName)
        let model = try LlamaModel(directory: Fixtures.model(modelName))
        let adapterCases = reference.cases.filter { !$0.loras.isEmpty }
        #expect(!adapterCases.isEmpty)
        for refCase in adapterCases {
            let set = try Self.adapterSet(refCase.loras, modelName: modelName, model: model, mode: mode)
            #expect(set.resolvedMode == mode)
            let label = "\(modelName) \(mode) \(refCase.loras.map { "\($0.adapter)×\($0.scale)" })"
            for result in refCase.results {
                let run = try GreedyDecoder(model: model, adapters: set).run(prompt: result.ids, steps: result.greedy.count)
                ReferenceComparison.check(run, against: result, label: "\(label) prompt \(result.ids.prefix(4))")
            }
        }
    }
}

/// Properties of adapter sets that hold for any adapters: scale 0, order, merged vs unmerged.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct AdapterSetPropertyTests {
    let model: LlamaModel
    let attn: LoraAdapter, mlp: LoraAdapter, all: LoraAdapter
    let prompt: [Int32] = [1, 17, 300, 42, 9, 88, 250, 3, 77, 12]

    init() throws {
        model = try LlamaModel(directory: Fixtures.model("tiny-llama"))
        attn = try LoraAdapter(directory: Fixtures.adapter("tiny-llama", "attn-r8"), model: model.config)
        mlp = try LoraAdapter(directory: Fixtures.adapter("tiny-llama", "mlp-r4"), model: model.config)
        all = try LoraAdapter(directory: Fixtures.adapter("tiny-llama", "all-rs16"), model: model.config)
    }

    func logits(_ set: AdapterSet?) throws -> [Float] {
        try GreedyDecoder(model: model, adapters: set).run(prompt: prompt, steps: 3).promptLogits
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    @Test func scaleZeroIsExactlyTheBaseModelUnmerged() throws {
        let base = try logits(nil)
        let zero = try AdapterSet([.init(adapter: all, scale: 0), .init(adapter: attn, scale: 0)], model: model, mode: .unmerged)
        #expect(try logits(zero) == base)
        let mergedZero = try AdapterSet([.init(adapter: all, scale: 0)], model: model, mode: .merged)
        #expect(maxDifference(try logits(mergedZero), base) <= 1e-5)
    }

    @Test func orderDoesNotMatter() throws {
        for mode in [AdapterSet.Mode.merged, .unmerged] {
            let ab = try AdapterSet([.init(adapter: attn, scale: 0.7), .init(adapter: all, scale: -1.2)], model: model, mode: mode)
            let ba = try AdapterSet([.init(adapter: all, scale: -1.2), .init(adapter: attn, scale: 0.7)], model: model, mode: mode)
            #expect(maxDifference(try logits(ab), try logits(ba)) <= 1e-4, "\(mode)")
        }
    }

    @Test func mergedEqualsUnmerged() throws {
        let entries: [AdapterSet.Entry] = [.init(adapter: attn, scale: 0.5), .init(adapter: mlp, scale: 2), .init(adapter: all, scale: 1.5)]
        let merged = try AdapterSet(entries, model: model, mode: .merged)
        let unmerged = try AdapterSet(entries, model: model, mode: .unmerged)
        #expect(merged.resolvedMode == .merged && unmerged.resolvedMode == .unmerged)
        #expect(maxDifference(try logits(merged), try logits(unmerged)) <= 1e-4)
        // Also for a long prompt, which takes the sgemm path instead of the small-batch kernel.
        let long = (0..<40).map { Int32(($0 * 37 + 5) % 512) }
        let a = try GreedyDecoder(model: model, adapters: merged).run(prompt: long, steps: 1).promptLogits
        let b = try GreedyDecoder(model: model, adapters: unmerged).run(prompt: long, steps: 1).promptLogits
        #expect(maxDifference(a, b) <= 1e-4)
    }

    @Test func autoModeHonoursTheBudgetAndReportsMemory() throws {
        let entries: [AdapterSet.Entry] = [.init(adapter: attn, scale: 1)]
        let roomy = try AdapterSet(entries, model: model, mode: .auto, mergeBudgetBytes: 1 << 30)
        let tight = try AdapterSet(entries, model: model, mode: .auto, mergeBudgetBytes: 1)
        #expect(roomy.resolvedMode == .merged && tight.resolvedMode == .unmerged)
        // attn-r8 touches q/k/v (fused) and o in both layers: merged holds a copy of those weights (in panels of
        // 24 output rows, the last one padded).
        let c = model.config
        func panelled(_ rows: Int) -> Int { (rows + PanelMatrix.width - 1) / PanelMatrix.width * PanelMatrix.width }
        let expectedMerged = c.layerCount * (panelled(c.queryDim + 2 * c.kvDim) * c.hiddenSize + panelled(c.hiddenSize) * c.queryDim) * 4
        #expect(roomy.extraBytes == expectedMerged)
        #expect(tight.extraBytes > 0 && tight.extraBytes < expectedMerged)
        // r 8 on q, k, v, o of 2 layers: A (8 × 64) and B (out × 8) per module.
        #expect(attn.residentBytes == 2 * (4 * 8 * 64 + 8 * (64 + 32 + 32 + 64)) * 4)
    }

    @Test func nonFiniteScaleIsRefused() throws {
        #expect(throws: AdapterLoadError.nonFiniteScale(adapter: "attn-r8", scale: .infinity)) {
            _ = try AdapterSet([.init(adapter: attn, scale: .infinity)], model: model)
        }
    }
}
