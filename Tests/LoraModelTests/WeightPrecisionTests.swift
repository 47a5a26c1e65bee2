import Foundation
import LoraModel
import LoraNumerics
import Testing

/// A checkpoint's bf16 / f16 linear weights kept 16-bit compute exactly what the same weights widened to f32
/// compute — base model and adapters, merged and unmerged — from half the bytes.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct WeightPrecisionTests {
    static let formats: [(model: String, element: PanelElement)] = [
        ("tiny-llama", .float32), ("tiny-llama-bf16-tied-sharded", .bfloat16), ("tiny-llama3-rope", .float16),
    ]
    let prompt: [Int32] = [1, 17, 300, 42, 9, 88, 250, 3, 77, 12]

    static func bits(_ run: GreedyDecoder.Result) -> [UInt32] {
        run.promptLogits.map(\.bitPattern) + run.steps.map { $0.logprob.bitPattern }
    }

    @Test(arguments: formats)
    func storedPrecisionEqualsFloat32Bitwise(model name: String, element: PanelElement) throws {
        let stored = try LlamaModel(directory: Fixtures.model(name))
        let widened = try LlamaModel(directory: Fixtures.model(name), precision: .float32)
        let layer = stored.weights.layers[0]
        #expect([layer.qkv, layer.o, layer.gateUp, layer.down, stored.weights.lmHead].allSatisfy { $0.element == element })
        #expect(widened.weights.layers[0].qkv.element == .float32)
        if element != .float32 {
            #expect(stored.weights.decodeReadBytes < widened.weights.decodeReadBytes * 6 / 10, "16-bit weights read about half the bytes")
        }
        let a = try GreedyDecoder(model: stored).run(prompt: prompt, steps: 4)
        let b = try GreedyDecoder(model: widened).run(prompt: prompt, steps: 4)
        #expect(a.steps.map(\.token) == b.steps.map(\.token))
        #expect(Self.bits(a) == Self.bits(b), "\(name): logits and logprobs bit for bit")
    }

    static let adapterCases: [(model: String, adapters: [String], mode: AdapterSet.Mode)] = [
        ("tiny-llama-bf16-tied-sharded", ["all-rs16", "attn-r8"], .merged),
        ("tiny-llama-bf16-tied-sharded", ["all-rs16", "attn-r8"], .unmerged),
        ("tiny-llama3-rope", ["attn-r8", "mlp-r4"], .merged),
        ("tiny-llama3-rope", ["attn-r8", "mlp-r4"], .unmerged),
    ]

    @Test(arguments: adapterCases)
    func adaptersOverSixteenBitWeightsEqualFloat32Bitwise(model name: String, adapters: [String], mode: AdapterSet.Mode) throws {
        let stored = try LlamaModel(directory: Fixtures.model(name))
        let widened = try LlamaModel(directory: Fixtures.model(name), precision: .float32)
        #expect(stored.weights.layers[0].qkv.element != .float32)
        func run(_ model: LlamaModel) throws -> GreedyDecoder.Result {
            let entries = try adapters.enumerated().map { i, adapter in
                AdapterSet.Entry(adapter: try LoraAdapter(directory: Fixtures.adapter(name, adapter), model: model.config), scale: i == 0 ? 0.8 : -1.5)
            }
            let set = try AdapterSet(entries, model: model, mode: mode)
            #expect(set.resolvedMode == mode)
            return try GreedyDecoder(model: model, adapters: set).run(prompt: prompt, steps: 4)
        }
        #expect(Self.bits(try run(stored)) == Self.bits(try run(widened)), "\(name) \(mode)")
    }

    @Test func autoModeDoesNotMergeOverSixteenBitWeights() throws {
        let name = "tiny-llama-bf16-tied-sharded"
        for (precision, expected) in [(WeightPrecision.asStored, AdapterSet.Mode.unmerged), (.float32, .merged)] {
            let model = try LlamaModel(directory: Fixtures.model(name), precision: precision)
            let adapter = try LoraAdapter(directory: Fixtures.adapter(name, "mlp-r4"), model: model.config)
            #expect(try AdapterSet([.init(adapter: adapter, scale: 1)], model: model).resolvedMode == expected, "\(precision)")
        }
    }
}

/// The same property without fixtures: synthesized 16-bit weights (an untied model, so an f32 embedding table
/// beside a 16-bit LM head) and a fused matrix whose parts come in different formats.
struct SynthesizedWeightPrecisionTests {
    static let config = LlamaConfig(
        hiddenSize: 64, intermediateSize: 176, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 16,
        vocabSize: 512, maxPositions: 1024, tieWordEmbeddings: false)
    let prompt: [Int32] = [1, 17, 300, 42, 9, 88, 250, 3, 77, 12, 5, 400]

    @Test(arguments: [PanelElement.bfloat16, .float16])
    func untiedSixteenBitModelEqualsFloat32Bitwise(element: PanelElement) throws {
        let stored = try LlamaModel(randomWeights: Self.config, seed: 21, element: element)
        let widened = try LlamaModel(randomWeights: Self.config, seed: 21, element: element, precision: .float32)
        #expect(stored.weights.lmHead.element == element && stored.weights.layers[1].down.element == element)
        #expect(widened.weights.lmHead.element == .float32)
        let a = try GreedyDecoder(model: stored).run(prompt: prompt, steps: 4)
        let b = try GreedyDecoder(model: widened).run(prompt: prompt, steps: 4)
        #expect(WeightPrecisionTests.bits(a) == WeightPrecisionTests.bits(b))
    }

    /// A source whose k projections are stored as f32 while everything else is bf16.
    final class MixedFormatSource: WeightSource {
        let inner = RandomWeights(seed: 22, element: .bfloat16)
        func tensor(_ name: String, shape: [Int]) throws -> FloatBuffer { try inner.tensor(name, shape: shape) }
        func halfPrecisionTensor(_ name: String, shape: [Int]) throws -> HalfPrecisionTensor? {
            name.contains("k_proj") ? nil : try inner.halfPrecisionTensor(name, shape: shape)
        }
        func contains(_ name: String) -> Bool { true }
        func unusedTensorNames() -> [String] { [] }
        func ignore(_ name: String, shape: [Int]) throws {}
        func path(of name: String) -> String? { nil }
    }

    @Test func mixedFormatsFuseIntoFloat32() throws {
        let mixed = LlamaModel(config: Self.config, weights: try LlamaWeights(config: Self.config, source: MixedFormatSource()))
        let reference = try LlamaModel(randomWeights: Self.config, seed: 22, element: .bfloat16, precision: .float32)
        #expect(mixed.weights.layers[0].qkv.element == .float32, "q and v widened to join an f32 k")
        #expect(mixed.weights.layers[0].gateUp.element == .bfloat16)
        let a = try GreedyDecoder(model: mixed).run(prompt: prompt, steps: 4)
        let b = try GreedyDecoder(model: reference).run(prompt: prompt, steps: 4)
        #expect(WeightPrecisionTests.bits(a) == WeightPrecisionTests.bits(b))
    }
}
