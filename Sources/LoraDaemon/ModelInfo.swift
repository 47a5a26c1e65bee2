import Foundation
import LoraJSON
import LoraModel

/// What `status` says about the served model: where it came from and its shape.
struct ModelInfo: Sendable {
    var path: String
    var architecture: String
    var dtype: String
    var parameters: Int
    var contextLength: Int
    var vocabSize: Int
    var layers: Int
    var hiddenSize: Int
    var demo: Bool

    init(directory: URL, config: LlamaConfig, demo: Bool) {
        path = directory.path
        self.demo = demo
        contextLength = config.maxPositions
        vocabSize = config.vocabSize
        layers = config.layerCount
        hiddenSize = config.hiddenSize
        parameters = Self.parameterCount(config)
        // config.json was read and validated by the model loader; these two fields are only reported.
        let json = (try? Data(contentsOf: directory.appendingPathComponent("config.json"))).flatMap { try? JSONValue.parse([UInt8]($0)) }
        architecture = json?["architectures"]?.arrayValue?.first?.stringValue ?? "LlamaForCausalLM"
        dtype = json?["torch_dtype"]?.stringValue ?? json?["dtype"]?.stringValue ?? "unknown"
    }

    /// Weights of a Llama: embeddings, per layer the attention and MLP projections and two norms, the final
    /// norm, and the LM head unless it is tied to the embeddings.
    static func parameterCount(_ c: LlamaConfig) -> Int {
        let attention = c.hiddenSize * c.qkvWidth + c.queryDim * c.hiddenSize
        let mlp = 3 * c.hiddenSize * c.intermediateSize
        let perLayer = attention + mlp + 2 * c.hiddenSize
        let embeddings = c.vocabSize * c.hiddenSize
        return embeddings + c.layerCount * perLayer + c.hiddenSize + (c.tieWordEmbeddings ? 0 : embeddings)
    }

    var json: JSONValue {
        ["path": .string(path), "architecture": .string(architecture), "dtype": .string(dtype), "parameters": .int(parameters),
         "contextLength": .int(contextLength), "vocabSize": .int(vocabSize), "layers": .int(layers), "hiddenSize": .int(hiddenSize),
         "demo": .bool(demo)]
    }
}
