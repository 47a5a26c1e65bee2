/// A `Codable` mirror of a Hugging Face Llama/Mistral `config.json`, with the keys spelled as in the file.
/// Every field is optional here; `LlamaConfig(validating:)` turns it into a checked configuration.
public struct HFLlamaConfig: Decodable, Sendable {
    /// A `rope_scaling` or `rope_parameters` object.
    public struct RopeParameters: Decodable, Sendable {
        public var ropeType: String?
        public var type: String?
        public var ropeTheta: Double?
        public var factor: Double?
        public var lowFreqFactor: Double?
        public var highFreqFactor: Double?
        public var originalMaxPositionEmbeddings: Int?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor
            case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }
    }

    /// An id or a list of ids (`eos_token_id` is either).
    public struct TokenIDs: Decodable, Sendable, Equatable {
        public var ids: [Int]
        public init(ids: [Int]) { self.ids = ids }
        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { ids = [] } else if let one = try? c.decode(Int.self) { ids = [one] } else { ids = try c.decode([Int].self) }
        }
    }

    public var architectures: [String]?
    public var modelType: String?
    public var hiddenSize: Int?
    public var intermediateSize: Int?
    public var numHiddenLayers: Int?
    public var numAttentionHeads: Int?
    public var numKeyValueHeads: Int?
    public var headDim: Int?
    public var rmsNormEps: Double?
    public var vocabSize: Int?
    public var maxPositionEmbeddings: Int?
    public var tieWordEmbeddings: Bool?
    public var hiddenAct: String?
    public var ropeTheta: Double?
    public var ropeScaling: RopeParameters?
    public var ropeParameters: RopeParameters?
    public var attentionBias: Bool?
    public var mlpBias: Bool?
    public var slidingWindow: Int?
    public var bosTokenId: TokenIDs?
    public var eosTokenId: TokenIDs?

    enum CodingKeys: String, CodingKey {
        case architectures, modelType = "model_type", hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim", rmsNormEps = "rms_norm_eps", vocabSize = "vocab_size"
        case maxPositionEmbeddings = "max_position_embeddings", tieWordEmbeddings = "tie_word_embeddings"
        case hiddenAct = "hidden_act", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters", attentionBias = "attention_bias", mlpBias = "mlp_bias"
        case slidingWindow = "sliding_window", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
    }
}

/// A `Codable` mirror of `generation_config.json`: the ids that start and end a sequence, and the sampling
/// defaults (`LoraEngine.GenerationDefaults` turns them into sampling parameters).
public struct GenerationConfig: Decodable, Sendable, Equatable {
    /// `bos_token_id`, if given.
    public var bosTokenId: Int?
    /// `eos_token_id`: one id or several.
    public var eosTokenIds: [Int]
    public var doSample: Bool?
    public var temperature: Float?
    public var topK: Int?
    public var topP: Float?
    public var minP: Float?
    public var repetitionPenalty: Float?

    enum CodingKeys: String, CodingKey {
        case bosTokenId = "bos_token_id", eosTokenId = "eos_token_id", doSample = "do_sample", temperature
        case topK = "top_k", topP = "top_p", minP = "min_p", repetitionPenalty = "repetition_penalty"
    }

    public init(bosTokenId: Int?, eosTokenIds: [Int]) {
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bosTokenId = try c.decodeIfPresent(HFLlamaConfig.TokenIDs.self, forKey: .bosTokenId)?.ids.first
        eosTokenIds = try c.decodeIfPresent(HFLlamaConfig.TokenIDs.self, forKey: .eosTokenId)?.ids ?? []
        doSample = try c.decodeIfPresent(Bool.self, forKey: .doSample)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature)
        topK = try c.decodeIfPresent(Int.self, forKey: .topK)
        topP = try c.decodeIfPresent(Float.self, forKey: .topP)
        minP = try c.decodeIfPresent(Float.self, forKey: .minP)
        repetitionPenalty = try c.decodeIfPresent(Float.self, forKey: .repetitionPenalty)
    }
}
