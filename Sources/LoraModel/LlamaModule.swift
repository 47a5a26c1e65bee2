/// The seven linear projections of a Llama decoder layer, by their Hugging Face / PEFT names.
public enum LlamaModule: String, Sendable, CaseIterable, Hashable {
    case qProj = "q_proj", kProj = "k_proj", vProj = "v_proj", oProj = "o_proj"
    case gateProj = "gate_proj", upProj = "up_proj", downProj = "down_proj"

    /// The submodule path inside a layer (`self_attn.q_proj`, `mlp.gate_proj`, ...).
    public var path: String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj: return "self_attn.\(rawValue)"
        case .gateProj, .upProj, .downProj: return "mlp.\(rawValue)"
        }
    }

    /// The fused weight that holds this projection in lorad's layout.
    public var fusedSlot: FusedLinear {
        switch self {
        case .qProj, .kProj, .vProj: return .qkv
        case .oProj: return .o
        case .gateProj, .upProj: return .gateUp
        case .downProj: return .down
        }
    }

    /// (out, in) of the projection's weight for `config`.
    public func shape(_ config: LlamaConfig) -> (out: Int, in: Int) {
        switch self {
        case .qProj: return (config.queryDim, config.hiddenSize)
        case .kProj, .vProj: return (config.kvDim, config.hiddenSize)
        case .oProj: return (config.hiddenSize, config.queryDim)
        case .gateProj, .upProj: return (config.intermediateSize, config.hiddenSize)
        case .downProj: return (config.hiddenSize, config.intermediateSize)
        }
    }

    /// First output row of this projection inside its fused weight.
    public func fusedRowOffset(_ config: LlamaConfig) -> Int {
        switch self {
        case .qProj, .oProj, .gateProj, .downProj: return 0
        case .kProj: return config.queryDim
        case .vProj: return config.queryDim + config.kvDim
        case .upProj: return config.intermediateSize
        }
    }
}

/// lorad stores q/k/v as one (q+2kv)×D weight and gate/up as one 2I×D weight, so a layer runs four GEMMs.
public enum FusedLinear: Int, Sendable, CaseIterable, Hashable {
    case qkv, o, gateUp, down

    /// The projections this fused weight holds, in row order.
    public var modules: [LlamaModule] {
        switch self {
        case .qkv: return [.qProj, .kProj, .vProj]
        case .o: return [.oProj]
        case .gateUp: return [.gateProj, .upProj]
        case .down: return [.downProj]
        }
    }
}
