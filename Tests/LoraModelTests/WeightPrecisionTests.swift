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

    @Test(arguments: [AdapterSet.Mode.merged, .unmerged])
    func adaptersOverSixteenBitWeightsEqualFloat32Bitwise(mode: AdapterSet.Mode) throws {
        let name = "tiny-llama-bf16-tied-sharded"
        let stored = try LlamaModel(directory: Fixtures.model(name))
        let widened = try LlamaModel(directory: Fixtures.model(name), precision: .float32)
        func run(_ model: LlamaModel) throws -> GreedyDecoder.Result {
            let entries = try ["all-rs16", "attn-r8"].enumerated().map { i, adapter in
                AdapterSet.Entry(adapter: try LoraAdapter(directory: Fixtures.adapter(name, adapter), model: model.config), scale: i == 0 ? 0.8 : -1.5)
            }
            let set = try AdapterSet(entries, model: model, mode: mode)
            #expect(set.resolvedMode == mode)
            return try GreedyDecoder(model: model, adapters: set).run(prompt: prompt, steps: 4)
        }
        #expect(Self.bits(try run(stored)) == Self.bits(try run(widened)))
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
