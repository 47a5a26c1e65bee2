import Foundation
import LoraModel
import LoraModelTestSupport
import Testing

/// Broken checkpoints and configs: each is refused with an error naming the tensor or key.
struct CheckpointLoadingTests {
    static var configJSON: [String: Any] { [
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 12,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-5,
        "vocab_size": 10, "max_position_embeddings": 32, "tie_word_embeddings": true, "hidden_act": "silu",
        "rope_theta": 10000.0,
    ] }

    static func tensors(hidden: Int = 8, intermediate: Int = 12, vocab: Int = 10) -> [String: [Int]] {
        let headDim = 4, kv = 4
        let t: [String: [Int]] = [
            "model.embed_tokens.weight": [vocab, hidden], "model.norm.weight": [hidden],
            "model.layers.0.input_layernorm.weight": [hidden], "model.layers.0.post_attention_layernorm.weight": [hidden],
            "model.layers.0.self_attn.q_proj.weight": [2 * headDim, hidden],
            "model.layers.0.self_attn.k_proj.weight": [kv, hidden], "model.layers.0.self_attn.v_proj.weight": [kv, hidden],
            "model.layers.0.self_attn.o_proj.weight": [hidden, 2 * headDim],
            "model.layers.0.mlp.gate_proj.weight": [intermediate, hidden], "model.layers.0.mlp.up_proj.weight": [intermediate, hidden],
            "model.layers.0.mlp.down_proj.weight": [hidden, intermediate],
        ]
        return t
    }

    /// Writes a checkpoint directory and returns it.
    static func checkpoint(config: [String: Any] = configJSON, tensors: [String: [Int]] = tensors()) throws -> URL {
        let entries = tensors.sorted { $0.key < $1.key }.map { name, shape in
            SafetensorsWriter.Entry(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.01 })
        }
        let path = try SafetensorsWriter.temporary(SafetensorsWriter.file(entries))
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
        return dir
    }

    static func config(_ changes: [String: Any?]) -> [String: Any] {
        var c = configJSON
        for (k, v) in changes { c[k] = v }
        return c
    }

    @Test func validCheckpointLoads() throws {
        let model = try LlamaModel(directory: try Self.checkpoint())
        #expect(model.config.headDim == 4 && model.config.tieWordEmbeddings)
    }

    @Test func missingTensorIsNamed() throws {
        var t = Self.tensors()
        t["model.layers.0.mlp.up_proj.weight"] = nil
        #expect(throws: ModelLoadError.missingTensor(name: "model.layers.0.mlp.up_proj.weight")) {
            _ = try LlamaModel(directory: try Self.checkpoint(tensors: t))
        }
    }

    @Test func wrongShapeTensorIsNamedWithBothShapes() throws {
        var t = Self.tensors()
        t["model.layers.0.self_attn.k_proj.weight"] = [5, 8]
        #expect(throws: ModelLoadError.wrongShape(name: "model.layers.0.self_attn.k_proj.weight", expected: [4, 8], actual: [5, 8])) {
            _ = try LlamaModel(directory: try Self.checkpoint(tensors: t))
        }
    }

    @Test func extraTensorIsRefused() throws {
        var t = Self.tensors()
        t["model.layers.1.mlp.up_proj.weight"] = [12, 8]
        #expect { _ = try LlamaModel(directory: try Self.checkpoint(tensors: t)) } throws: { error in
            guard case ModelLoadError.unexpectedTensor("model.layers.1.mlp.up_proj.weight", _) = error else { return false }
            return true
        }
    }

    @Test(arguments: ["hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size", "num_attention_heads"])
    func zeroOrNegativeSizesAreRefused(key: String) throws {
        for value in [0, -4] {
            #expect { _ = try LlamaConfig(configJSON: try JSONSerialization.data(withJSONObject: Self.config([key: value]))) } throws: { error in
                guard case ModelLoadError.unsupportedConfig(let k, _, _) = error else { return false }
                return k == key
            }
        }
    }

    @Test func headsNotDividingHiddenSize() throws {
        let data = try JSONSerialization.data(withJSONObject: Self.config(["num_attention_heads": 3]))
        #expect { _ = try LlamaConfig(configJSON: data) } throws: { error in
            guard case ModelLoadError.unsupportedConfig("num_attention_heads", "3", let reason) = error else { return false }
            return reason.contains("hidden_size")
        }
        let kv = try JSONSerialization.data(withJSONObject: Self.config(["num_key_value_heads": 3, "num_attention_heads": 4]))
        #expect { _ = try LlamaConfig(configJSON: kv) } throws: { error in
            guard case ModelLoadError.unsupportedConfig("num_key_value_heads", _, _) = error else { return false }
            return true
        }
    }

    @Test(arguments: [
        ("architectures", #"["GPT2LMHeadModel"]"#, "architectures"),
        ("model_type", #""qwen2""#, "model_type"),
        ("attention_bias", "true", "attention_bias"),
        ("sliding_window", "4096", "sliding_window"),
        ("hidden_act", #""gelu""#, "hidden_act"),
        ("rope_scaling", #"{"rope_type": "yarn", "factor": 4.0}"#, "rope_scaling.rope_type"),
        // Factors beyond Float's range would silently become infinite.
        ("rope_scaling", #"{"rope_type": "linear", "factor": 1e300}"#, "rope_scaling.factor"),
        ("rope_scaling", #"{"rope_type": "llama3", "factor": 1e300, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}"#, "rope_scaling"),
    ])
    func unsupportedFeaturesNameTheKey(key: String, valueJSON: String, namedKey: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(valueJSON.utf8), options: [.fragmentsAllowed])
        let data = try JSONSerialization.data(withJSONObject: Self.config([key: value]))
        #expect { _ = try LlamaConfig(configJSON: data) } throws: { error in
            guard case ModelLoadError.unsupportedConfig(let k, _, _) = error else { return false }
            return k == namedKey
        }
    }

    @Test func ropeFromBothConfigStyles() throws {
        var newer = Self.configJSON
        newer["rope_theta"] = nil
        newer["rope_parameters"] = ["rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 64]
        let a = try LlamaConfig(configJSON: try JSONSerialization.data(withJSONObject: newer))
        #expect(a.ropeTheta == 500_000)
        #expect(a.ropeScaling == .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64))
        let older = Self.config(["rope_theta": 1000.0, "rope_scaling": ["type": "linear", "factor": 2.0]])
        let b = try LlamaConfig(configJSON: try JSONSerialization.data(withJSONObject: older))
        #expect(b.ropeTheta == 1000 && b.ropeScaling == .linear(factor: 2))
    }

    @Test func generationConfigSuppliesStopIds() throws {
        let dir = try Self.checkpoint(config: Self.config(["eos_token_id": 2, "bos_token_id": 1]))
        #expect(try LlamaConfig(directory: dir).eosTokenIds == [2])
        try Data(#"{"bos_token_id": 1, "eos_token_id": [2, 7]}"#.utf8).write(to: dir.appendingPathComponent("generation_config.json"))
        let c = try LlamaConfig(directory: dir)
        #expect(c.eosTokenIds == [2, 7] && c.bosTokenId == 1)
    }

    @Test func stopIdsOutsideTheVocabularyAreRefused() throws {
        #expect { _ = try LlamaConfig(directory: try Self.checkpoint(config: Self.config(["eos_token_id": 10]))) } throws: { error in
            guard case ModelLoadError.unsupportedConfig("eos_token_id", "10", let reason) = error else { return false }
            return reason.contains("vocab_size")
        }
    }

    @Test func sizesTooLargeToHoldAreRefusedBeforeAllocating() throws {
        #expect { _ = try LlamaConfig(directory: try Self.checkpoint(config: Self.config(["vocab_size": Int.max / 4]))) } throws: { error in
            guard case ModelLoadError.unsupportedConfig("vocab_size", _, _) = error else { return false }
            return true
        }
        // Representable but not what the file holds: a shape error naming the tensor, not an allocation.
        let dir = try Self.checkpoint(config: Self.config(["intermediate_size": 1 << 30]))
        #expect { _ = try LlamaModel(directory: dir) } throws: { error in
            guard case ModelLoadError.wrongShape(let name, _, _) = error else { return false }
            return name.contains("mlp.gate_proj")
        }
    }

    @Test func layerAndHeadCountsTooLargeToHoldAreRefused() throws {
        // Layers times the per-layer weights overflowed Int: a trap in the loader.
        #expect { _ = try LlamaConfig(directory: try Self.checkpoint(config: Self.config(["num_hidden_layers": 1_000_000_000_000_000_000]))) } throws: { error in
            guard case ModelLoadError.unsupportedConfig("num_hidden_layers", "1000000000000000000", _) = error else { return false }
            return true
        }
        // q + 2 × kv heads overflowed Int before any product was checked.
        let heads = Self.config(["num_attention_heads": 1 << 62, "num_key_value_heads": 1 << 62, "head_dim": 2])
        #expect { _ = try LlamaConfig(directory: try Self.checkpoint(config: heads)) } throws: { error in
            guard case ModelLoadError.unsupportedConfig("num_attention_heads", _, let reason) = error else { return false }
            return reason.contains("too large to hold")
        }
        // Representable, but far more layers than the file holds: the first missing tensor is named, not a
        // 1e11-element reservation.
        let dir = try Self.checkpoint(config: Self.config(["num_hidden_layers": 100_000_000_000]))
        #expect(throws: ModelLoadError.missingTensor(name: "model.layers.1.input_layernorm.weight")) { _ = try LlamaModel(directory: dir) }
    }

    @Test func invalidConfigJSONIsReported() throws {
        #expect { _ = try LlamaConfig(configJSON: Data("{\"hidden_size\": \"big\"}".utf8)) } throws: { error in
            guard case ModelLoadError.invalidConfig(_, let reason) = error else { return false }
            return reason.contains("hidden_size")
        }
    }

    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage))
    func shardedCheckpointWithMissingShardIsRefused() throws {
        let source = Fixtures.model("tiny-llama-bf16-tied-sharded")
        let dir = try TestScratch.directory("shards")
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "model-00003-of-00005.safetensors" {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: dir.appendingPathComponent(name))
        }
        #expect { _ = try LlamaModel(directory: dir) } throws: { error in
            guard case ModelLoadError.invalidIndex(_, let reason) = error else { return false }
            return reason.contains("model-00003-of-00005.safetensors")
        }
    }
}
