import Foundation
import LoraNumerics

/// The weights of one decoder layer in lorad's fused layout.
public struct LlamaLayerWeights: Sendable {
    /// `input_layernorm.weight` (D).
    public let inputNorm: FloatBuffer
    /// q, k, v projections stacked: ((H + 2·Hkv)·Dh, D).
    public let qkv: PanelMatrix
    /// `o_proj` (D, H·Dh).
    public let o: PanelMatrix
    /// `post_attention_layernorm.weight` (D).
    public let postNorm: FloatBuffer
    /// gate and up projections stacked: (2·I, D).
    public let gateUp: PanelMatrix
    /// `down_proj` (D, I).
    public let down: PanelMatrix

    /// Bytes held by the layer.
    public var byteCount: Int {
        qkv.byteCount + o.byteCount + gateUp.byteCount + down.byteCount + inputNorm.byteCount + postNorm.byteCount
    }

    /// The fused weight for `slot`.
    public func weight(_ slot: FusedLinear) -> PanelMatrix {
        switch slot {
        case .qkv: return qkv
        case .o: return o
        case .gateUp: return gateUp
        case .down: return down
        }
    }
}

/// All weights of a Llama model, immutable once loaded. Linear weights are stored in panels for the
/// `PanelGEMM` micro-kernel; a tied embedding lives only in the LM head's panels.
public struct LlamaWeights: Sendable {
    /// `model.embed_tokens.weight` (V, D), row-major, when it is not tied to the LM head.
    private let untiedEmbedding: Matrix?
    /// The decoder layers.
    public let layers: [LlamaLayerWeights]
    /// `model.norm.weight` (D).
    public let finalNorm: FloatBuffer
    /// `lm_head.weight` (V, D), or the embedding when tied.
    public let lmHead: PanelMatrix

    /// Copies token `token`'s embedding row (D floats) into `destination`.
    public func embed(_ token: Int, into destination: UnsafeMutablePointer<Float>) {
        if let table = untiedEmbedding {
            destination.update(from: table.row(token), count: table.cols)
        } else {
            lmHead.copyRow(token, to: destination)
        }
    }

    /// Element `(token, i)` of the embedding table (tests and tools).
    public func embedding(_ token: Int, _ i: Int) -> Float {
        untiedEmbedding.map { $0[token, i] } ?? lmHead[token, i]
    }

    /// The formats the linear weights are held in (one, unless a checkpoint mixes them).
    public var linearFormats: [PanelElement] {
        let all = layers.flatMap { l in FusedLinear.allCases.map { l.weight($0).element } } + [lmHead.element]
        return PanelElement.allCases.filter(all.contains)
    }

    /// Bytes of all the weights held, an untied embedding table included.
    public var byteCount: Int { decodeReadBytes + (untiedEmbedding?.byteCount ?? 0) }

    /// Bytes of weights a decode step reads (every matrix once; the embedding row lookup is negligible).
    public var decodeReadBytes: Int {
        layers.reduce(0) { $0 + $1.byteCount } + lmHead.byteCount + finalNorm.byteCount
    }

    /// Reads every tensor `config` requires from `source`, checking names and shapes, and refuses tensors the
    /// config does not explain. Linear weights stored as bf16 or f16 stay 16-bit unless `precision` is
    /// `.float32`; norms and an untied embedding table are always f32.
    public init(config: LlamaConfig, source: WeightSource, precision: WeightPrecision = .asStored) throws {
        try config.validate()
        let d = config.hiddenSize
        // Mapped F32 tensors are copied: anonymous memory can use huge pages, which decode streams faster, and
        // the checkpoint file is not kept mapped.
        func owned(_ buffer: FloatBuffer) -> FloatBuffer { buffer.isBorrowed ? FloatBuffer(copying: buffer) : buffer }
        // The layers' matrices share huge-page blocks (see WeightArena); the LM head is large enough alone.
        let arena = WeightArena(expectedFloats: config.layerPanelFloats ?? 0)  // never nil after `validate`
        func matrix(_ name: String, _ rows: Int, _ cols: Int, arena: WeightArena? = nil) throws -> PanelMatrix {
            try stacked([(name, rows)], cols: cols, arena: arena)
        }
        func stacked(_ parts: [(String, Int)], cols: Int, arena: WeightArena? = nil) throws -> PanelMatrix {
            // Every part's shape is checked against the file before the packed matrix is allocated.
            let tensors: [(half: HalfPrecisionTensor?, float: FloatBuffer?)] = try parts.map { name, rows in
                if precision == .asStored, let half = try source.halfPrecisionTensor(name, shape: [rows, cols]) {
                    return (half, nil)
                }
                return (nil, try source.tensor(name, shape: [rows, cols]))
            }
            // 16-bit panels when every part is stored in the same 16-bit format; f32 otherwise.
            let formats = Set(tensors.map { $0.half?.element ?? .float32 })
            let element = formats.count == 1 ? formats.first ?? .float32 : .float32
            let out = PanelMatrix(rows: parts.reduce(0) { $0 + $1.1 }, cols: cols, element: element, arena: arena)
            var row = 0
            for (t, (_, rows)) in zip(tensors, parts) {
                if element != .float32, let half = t.half {
                    out.store(rowMajorBits: half.bits, ld: cols, firstRow: row, count: rows)
                } else if let floats = t.float ?? t.half?.widened() {
                    out.store(rowMajor: floats.pointer, ld: cols, firstRow: row, count: rows)
                }
                row += rows
            }
            return out
        }
        let embeddingName = "model.embed_tokens.weight"
        // Not reserved up front: a config may claim far more layers than the file holds (1e11 aborted on the
        // reservation); the first missing tensor ends the loop with an error instead.
        var layers: [LlamaLayerWeights] = []
        for l in 0..<config.layerCount {
            let p = "model.layers.\(l)."
            layers.append(LlamaLayerWeights(
                inputNorm: owned(try source.tensor(p + "input_layernorm.weight", shape: [d])),
                qkv: try stacked([
                    (p + "self_attn.q_proj.weight", config.queryDim),
                    (p + "self_attn.k_proj.weight", config.kvDim),
                    (p + "self_attn.v_proj.weight", config.kvDim),
                ], cols: d, arena: arena),
                o: try matrix(p + "self_attn.o_proj.weight", d, config.queryDim, arena: arena),
                postNorm: owned(try source.tensor(p + "post_attention_layernorm.weight", shape: [d])),
                gateUp: try stacked([
                    (p + "mlp.gate_proj.weight", config.intermediateSize),
                    (p + "mlp.up_proj.weight", config.intermediateSize),
                ], cols: d, arena: arena),
                down: try matrix(p + "mlp.down_proj.weight", d, config.intermediateSize, arena: arena)))
        }
        self.layers = layers
        finalNorm = owned(try source.tensor("model.norm.weight", shape: [d]))
        if config.tieWordEmbeddings {
            lmHead = try matrix(embeddingName, config.vocabSize, d)
            untiedEmbedding = nil
            // Some tied checkpoints still carry a copy of lm_head; transformers ignores it, so do we.
            try source.ignore("lm_head.weight", shape: [config.vocabSize, d])
        } else {
            untiedEmbedding = Matrix(
                rows: config.vocabSize, cols: d, storage: owned(try source.tensor(embeddingName, shape: [config.vocabSize, d])))
            lmHead = try matrix("lm_head.weight", config.vocabSize, d)
        }
        // Older checkpoints store rotary inverse frequencies; they are recomputed, not loaded.
        let unexplained = source.unusedTensorNames().filter { !$0.hasSuffix("rotary_emb.inv_freq") }
        if let extra = unexplained.first {
            let path = source.path(of: extra) ?? "checkpoint"
            throw ModelLoadError.unexpectedTensor(name: extra, path: path)
        }
    }
}
