import Foundation
import LoraNumerics

/// A validated Llama-family model configuration with no optionals: every size positive and consistent.
public struct LlamaConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var vocabSize: Int
    public var maxPositions: Int
    public var tieWordEmbeddings: Bool
    public var ropeTheta: Float
    public var ropeScaling: RotaryEmbedding.Scaling
    /// BOS id from config.json or generation_config.json.
    public var bosTokenId: Int?
    /// EOS ids (generation_config.json wins over config.json).
    public var eosTokenIds: [Int]
    /// generation_config.json as read with the checkpoint, when it has one.
    public var generation: GenerationConfig?

    /// Width of the query projection output (`headCount · headDim`).
    public var queryDim: Int { headCount * headDim }
    /// Width of the key and of the value projection output (`kvHeadCount · headDim`).
    public var kvDim: Int { kvHeadCount * headDim }
    /// Width of the fused q, k, v projection output.
    public var qkvWidth: Int { queryDim + 2 * kvDim }

    /// Builds a configuration directly (benchmarks, tests); `validate()` checks it.
    public init(
        hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, headDim: Int,
        rmsNormEps: Float = 1e-5, vocabSize: Int, maxPositions: Int, tieWordEmbeddings: Bool,
        ropeTheta: Float = 10_000, ropeScaling: RotaryEmbedding.Scaling = .none, bosTokenId: Int? = 1, eosTokenIds: [Int] = [2]
    ) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.rmsNormEps = rmsNormEps
        self.vocabSize = vocabSize
        self.maxPositions = maxPositions
        self.tieWordEmbeddings = tieWordEmbeddings
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    /// Checks sizes and their relations; throws `ModelLoadError.unsupportedConfig` naming the key.
    public func validate() throws {
        let sizes: [(String, Int)] = [
            ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize), ("num_hidden_layers", layerCount),
            ("num_attention_heads", headCount), ("num_key_value_heads", kvHeadCount), ("head_dim", headDim),
            ("vocab_size", vocabSize), ("max_position_embeddings", maxPositions),
        ]
        for (key, value) in sizes where value <= 0 {
            throw ModelLoadError.unsupportedConfig(key: key, value: "\(value)", reason: "must be a positive integer")
        }
        guard headCount % kvHeadCount == 0 else {
            throw ModelLoadError.unsupportedConfig(
                key: "num_key_value_heads", value: "\(kvHeadCount)",
                reason: "must divide num_attention_heads (\(headCount))")
        }
        guard headDim % 2 == 0 else {
            throw ModelLoadError.unsupportedConfig(key: "head_dim", value: "\(headDim)", reason: "must be even for rotary embeddings")
        }
        guard rmsNormEps.isFinite, rmsNormEps > 0 else {
            throw ModelLoadError.unsupportedConfig(key: "rms_norm_eps", value: "\(rmsNormEps)", reason: "must be a positive number")
        }
        guard ropeTheta.isFinite, ropeTheta > 0 else {
            throw ModelLoadError.unsupportedConfig(key: "rope_theta", value: "\(ropeTheta)", reason: "must be a positive number")
        }
        // The largest weights must have a representable size, so a wrong config fails here, not in an allocation
        // or an overflow trap (even q + k + v heads can overflow).
        let (kvHeads, kvOverflow) = kvHeadCount.multipliedReportingOverflow(by: 2)
        let (qkvHeads, qkvOverflow) = headCount.addingReportingOverflow(kvHeads)
        guard !kvOverflow, !qkvOverflow else {
            throw ModelLoadError.unsupportedConfig(
                key: "num_attention_heads", value: "\(headCount)", reason: "with \(kvHeadCount) key/value heads, the weights it implies are too large to hold")
        }
        let largest: [(String, [Int])] = [
            ("vocab_size", [vocabSize, hiddenSize]), ("intermediate_size", [2, intermediateSize, hiddenSize]),
            ("num_attention_heads", [qkvHeads, headDim, hiddenSize]),
        ]
        for (key, factors) in largest {
            var product = 4  // bytes per f32
            for f in factors {
                let (next, overflow) = product.multipliedReportingOverflow(by: f)
                guard !overflow else {
                    throw ModelLoadError.unsupportedConfig(key: key, value: "\(factors)", reason: "the weights it implies are too large to hold")
                }
                product = next
            }
        }
        guard let layerFloats = layerPanelFloats, layerFloats <= Int.max / MemoryLayout<Float>.size else {
            throw ModelLoadError.unsupportedConfig(
                key: "num_hidden_layers", value: "\(layerCount)", reason: "the weights of that many layers of this size are too large to hold")
        }
        guard vocabSize <= Int(Int32.max) else {
            throw ModelLoadError.unsupportedConfig(key: "vocab_size", value: "\(vocabSize)", reason: "token ids are 32-bit")
        }
        for id in [bosTokenId].compactMap({ $0 }) + eosTokenIds where id < 0 || id >= vocabSize {
            throw ModelLoadError.unsupportedConfig(
                key: id == bosTokenId ? "bos_token_id" : "eos_token_id", value: "\(id)", reason: "must be a token id below vocab_size (\(vocabSize))")
        }
    }

    /// Floats the layers' linear weights take in panels (rows padded by a panel, plus the arena's alignment,
    /// per matrix), the `WeightArena` size hint; nil when it overflows Int, which `validate` refuses.
    var layerPanelFloats: Int? {
        func mul(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return nil }
            let (r, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? nil : r
        }
        func add(_ a: Int?, _ b: Int?) -> Int? {
            guard let a, let b else { return nil }
            let (r, overflow) = a.addingReportingOverflow(b)
            return overflow ? nil : r
        }
        let d = hiddenSize, queryDim = mul(headCount, headDim)
        let shapes: [(Int?, Int?)] = [(add(queryDim, mul(2, mul(kvHeadCount, headDim))), d), (d, queryDim), (mul(2, intermediateSize), d), (d, intermediateSize)]
        let perLayer = shapes.reduce(0 as Int?) { sum, shape in
            add(sum, add(mul(add(shape.0, PanelMatrix.width), shape.1), WeightArena.alignmentFloats))
        }
        return mul(layerCount, perLayer)
    }

    /// The rotary embedding this configuration describes.
    public var rotaryEmbedding: RotaryEmbedding {
        RotaryEmbedding(dim: headDim, theta: ropeTheta, scaling: ropeScaling)
    }
}

extension LlamaConfig {
    /// Parses and validates `config.json` (and `generation_config.json` beside it when present) in `directory`.
    public init(directory: URL) throws {
        let configURL = directory.appendingPathComponent("config.json")
        let data: Data
        do { data = try Data(contentsOf: configURL) } catch {
            throw ModelLoadError.io(path: configURL.path, reason: "\(error.localizedDescription)")
        }
        var generation: GenerationConfig?
        let genURL = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: genURL.path) {
            do {
                generation = try JSONDecoder().decode(GenerationConfig.self, from: Data(contentsOf: genURL))
            } catch {
                throw ModelLoadError.invalidConfig(path: genURL.path, reason: Self.describe(error))
            }
        }
        try self.init(configJSON: data, path: configURL.path, generation: generation)
    }

    /// Parses and validates config.json contents.
    public init(configJSON data: Data, path: String = "config.json", generation: GenerationConfig? = nil) throws {
        let hf: HFLlamaConfig
        do {
            hf = try JSONDecoder().decode(HFLlamaConfig.self, from: data)
        } catch {
            throw ModelLoadError.invalidConfig(path: path, reason: Self.describe(error))
        }
        try self.init(validating: hf, generation: generation)
    }

    /// Resolves the mirror into a checked configuration.
    public init(validating hf: HFLlamaConfig, generation: GenerationConfig? = nil) throws {
        let supportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM"]
        if let archs = hf.architectures, let unsupported = archs.first(where: { !supportedArchitectures.contains($0) }) {
            throw ModelLoadError.unsupportedConfig(
                key: "architectures", value: "\"\(unsupported)\"",
                reason: "lorad runs \(supportedArchitectures.joined(separator: " and ")) only")
        }
        if let type = hf.modelType, !["llama", "mistral"].contains(type) {
            throw ModelLoadError.unsupportedConfig(key: "model_type", value: "\"\(type)\"", reason: "lorad runs model types llama and mistral only")
        }
        if hf.attentionBias == true {
            throw ModelLoadError.unsupportedConfig(key: "attention_bias", value: "true", reason: "attention projections with biases are not supported")
        }
        if hf.mlpBias == true {
            throw ModelLoadError.unsupportedConfig(key: "mlp_bias", value: "true", reason: "MLP projections with biases are not supported")
        }
        if let window = hf.slidingWindow {
            throw ModelLoadError.unsupportedConfig(key: "sliding_window", value: "\(window)", reason: "sliding-window attention is not supported")
        }
        if let act = hf.hiddenAct, act != "silu" {
            throw ModelLoadError.unsupportedConfig(key: "hidden_act", value: "\"\(act)\"", reason: "only silu is supported")
        }
        func required(_ value: Int?, _ key: String) throws -> Int {
            guard let value else { throw ModelLoadError.unsupportedConfig(key: key, value: "missing", reason: "config.json must set it") }
            return value
        }
        let hidden = try required(hf.hiddenSize, "hidden_size")
        let heads = try required(hf.numAttentionHeads, "num_attention_heads")
        if heads > 0, hidden > 0, hf.headDim == nil, hidden % heads != 0 {
            throw ModelLoadError.unsupportedConfig(
                key: "num_attention_heads", value: "\(heads)",
                reason: "must divide hidden_size (\(hidden)) when head_dim is not given")
        }
        let headDim = hf.headDim ?? (heads > 0 ? hidden / heads : 0)

        // RoPE: the newer `rope_parameters` object, else the older top-level keys.
        let rope = hf.ropeParameters ?? hf.ropeScaling
        let ropeKey = hf.ropeParameters != nil ? "rope_parameters" : "rope_scaling"
        let theta = hf.ropeParameters?.ropeTheta ?? hf.ropeTheta ?? 10_000
        let ropeType = rope?.ropeType ?? rope?.type ?? "default"
        let scaling: RotaryEmbedding.Scaling
        switch ropeType {
        case "default":
            scaling = .none
        case "linear":
            guard let factor = rope?.factor, factor > 0, Float(factor).isFinite else {
                throw ModelLoadError.unsupportedConfig(key: "\(ropeKey).factor", value: "\(rope?.factor.map { "\($0)" } ?? "missing")", reason: "linear RoPE scaling needs a positive factor")
            }
            scaling = .linear(factor: Float(factor))
        case "llama3":
            guard let factor = rope?.factor, let low = rope?.lowFreqFactor, let high = rope?.highFreqFactor,
                  let original = rope?.originalMaxPositionEmbeddings, factor > 0, low > 0, high > low, original > 0,
                  [factor, low, high].allSatisfy({ Float($0).isFinite }) else {
                throw ModelLoadError.unsupportedConfig(
                    key: ropeKey, value: "rope_type llama3",
                    reason: "needs positive factor, low_freq_factor < high_freq_factor and original_max_position_embeddings")
            }
            scaling = .llama3(factor: Float(factor), lowFreqFactor: Float(low), highFreqFactor: Float(high), originalMaxPositions: original)
        default:
            throw ModelLoadError.unsupportedConfig(
                key: "\(ropeKey).rope_type", value: "\"\(ropeType)\"", reason: "supported rope types are default, linear and llama3")
        }

        self.init(
            hiddenSize: hidden,
            intermediateSize: try required(hf.intermediateSize, "intermediate_size"),
            layerCount: try required(hf.numHiddenLayers, "num_hidden_layers"),
            headCount: heads,
            kvHeadCount: hf.numKeyValueHeads ?? heads,
            headDim: headDim,
            rmsNormEps: Float(hf.rmsNormEps ?? 1e-6),
            vocabSize: try required(hf.vocabSize, "vocab_size"),
            maxPositions: hf.maxPositionEmbeddings ?? 2048,
            tieWordEmbeddings: hf.tieWordEmbeddings ?? false,
            ropeTheta: Float(theta),
            ropeScaling: scaling,
            bosTokenId: generation?.bosTokenId ?? hf.bosTokenId?.ids.first,
            eosTokenIds: (generation?.eosTokenIds.isEmpty == false ? generation?.eosTokenIds : nil) ?? hf.eosTokenId?.ids ?? [])
        self.generation = generation
        try validate()
    }

    /// A decoding error as one line that names the key path.
    static func describe(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let DecodingError.typeMismatch(type, ctx):
            return "key '\(path(ctx.codingPath))' should be \(type): \(ctx.debugDescription)"
        case let DecodingError.valueNotFound(type, ctx):
            return "key '\(path(ctx.codingPath))' is null, expected \(type)"
        case let DecodingError.keyNotFound(key, ctx):
            return "key '\(path(ctx.codingPath + [key]))' is missing"
        case let DecodingError.dataCorrupted(ctx):
            return "invalid JSON at '\(path(ctx.codingPath))': \(ctx.debugDescription) \(ctx.underlyingError.map { "\($0)" } ?? "")"
        default:
            return "\(error)"
        }
    }
}
