import Crypto
import Foundation
import LoraModel

/// Identifies the model an adapter was validated against: sha256 over a canonical text of the architecture and
/// shapes (what decides whether an adapter's tensors fit and mean the same thing). Token ids, generation settings
/// and the context length are left out: they do not change what an adapter computes.
public struct ModelFingerprint: Sendable, Hashable, CustomStringConvertible {
    /// The fingerprint: lowercase hex sha256 of `canonicalDescription`; stable across runs and versions.
    public let value: String

    /// The fingerprint of `config`.
    public init(config: LlamaConfig) {
        value = FileOperations.hex(SHA256.hash(data: Data(Self.canonicalDescription(config).utf8)))
    }

    /// The same as `value`.
    public var description: String { value }

    /// The canonical description, one `key=value` per line, versioned so it can grow without collisions.
    public static func canonicalDescription(_ config: LlamaConfig) -> String {
        let rope: String
        switch config.ropeScaling {
        case .none:
            rope = "default"
        case let .linear(factor):
            rope = "linear factor=\(factor)"
        case let .llama3(factor, low, high, original):
            rope = "llama3 factor=\(factor) low_freq_factor=\(low) high_freq_factor=\(high) original_max_position_embeddings=\(original)"
        }
        let lines = [
            "lorad-model-fingerprint=1",
            "architecture=llama",
            "hidden_size=\(config.hiddenSize)",
            "intermediate_size=\(config.intermediateSize)",
            "num_hidden_layers=\(config.layerCount)",
            "num_attention_heads=\(config.headCount)",
            "num_key_value_heads=\(config.kvHeadCount)",
            "head_dim=\(config.headDim)",
            "vocab_size=\(config.vocabSize)",
            "tie_word_embeddings=\(config.tieWordEmbeddings)",
            "rms_norm_eps=\(config.rmsNormEps)",
            "rope_theta=\(config.ropeTheta)",
            "rope_scaling=\(rope)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
