import Foundation
import LoraNumerics

/// One projection of one layer, the unit a LoRA adapter changes.
public struct LoraModuleKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Decoder layer index.
    public var layer: Int
    /// The projection.
    public var module: LlamaModule

    public init(layer: Int, module: LlamaModule) {
        self.layer = layer
        self.module = module
    }

    /// Full module name in the base model (`model.layers.0.self_attn.q_proj`).
    public var name: String { "model.layers.\(layer).\(module.path)" }
    public var description: String { name }

    public static func < (a: LoraModuleKey, b: LoraModuleKey) -> Bool {
        (a.layer, LlamaModule.allCases.firstIndex(of: a.module) ?? 0) < (b.layer, LlamaModule.allCases.firstIndex(of: b.module) ?? 0)
    }
}

/// The low-rank pair of one module: `delta = scaling · B · A`.
public struct LoraModuleWeights: Sendable {
    /// A (r × in).
    public let a: Matrix
    /// B (out × r).
    public let b: Matrix
    /// `alpha / r`, or `alpha / √r` with rsLoRA; the user scale multiplies it.
    public let scaling: Float

    /// The module's rank (from `r` or `rank_pattern`): the rows of A, which the loader checks against it.
    public var rank: Int { a.rows }

    /// A module's pair; `scaling` is alpha/r (or alpha/√r) without the user scale.
    public init(a: Matrix, b: Matrix, scaling: Float) {
        precondition(a.rows == b.cols, "LoRA A and B disagree on the rank")
        self.a = a
        self.b = b
        self.scaling = scaling
    }
}

/// A PEFT LoRA adapter, read, validated against a model configuration and converted to f32. Immutable.
public struct LoraAdapter: Sendable {
    /// A name for messages and results (the directory name unless given).
    public let name: String
    /// The parsed config.
    public let config: PEFTAdapterConfig
    /// Weights per targeted module.
    public let modules: [LoraModuleKey: LoraModuleWeights]

    /// Bytes of f32 A and B held.
    public var residentBytes: Int { modules.values.reduce(0) { $0 + $1.a.byteCount + $1.b.byteCount } }

    /// Builds an adapter from already-validated parts (tests, benchmarks).
    public init(name: String, config: PEFTAdapterConfig, modules: [LoraModuleKey: LoraModuleWeights]) {
        self.name = name
        self.config = config
        self.modules = modules
    }
}
