import Foundation
import LoraNumerics

/// An immutable set of LoRA adapters with their user scales, ready for the forward pass:
/// `h = W x + Σᵢ sᵢ · Bᵢ (Aᵢ x)` with `sᵢ = user_scaleᵢ · alphaᵢ / rᵢ` (or `alphaᵢ / √rᵢ` with rsLoRA).
///
/// Built off the thread that runs forward passes and never touching the base weights, so a new set can be
/// prepared while another serves. Two ways to apply it:
/// - **unmerged**: per layer and fused projection, every adapter's A for the projections in it stacked into
///   one `A_cat (R × in)`, and per projection the adapters' B stacked into `B_cat (out × R)` with the scales
///   folded in; the delta is one GEMM with `A_cat` and one per projection with its `B_cat`, whatever the
///   number of adapters; untargeted projections cost nothing;
/// - **merged**: per targeted fused projection a private `W + Σ sᵢ Bᵢ Aᵢ`, so the forward pass costs what the
///   base model costs, for one extra copy of each targeted weight.
public struct AdapterSet: ProjectionAdapter {
    /// How to apply the adapters.
    public enum Mode: String, Sendable, CaseIterable {
        /// Merged when the extra memory fits the budget and the base weights are f32, else unmerged.
        case auto, merged, unmerged
    }

    /// One active adapter and its user scale.
    public struct Entry: Sendable {
        public let adapter: LoraAdapter
        public let scale: Float
        /// What identifies the adapter's content when sets are cached by content (a job's own set, see the
        /// engine's adapter set cache): the daemon gives the registry digest. nil: the adapter's weight storage
        /// identifies it (the same loaded adapter, or a renamed view of it, is the same content).
        public let contentKey: String?

        /// `adapter` at user scale `scale`; `contentKey` as above.
        public init(adapter: LoraAdapter, scale: Float, contentKey: String? = nil) {
            self.adapter = adapter
            self.scale = scale
            self.contentKey = contentKey
        }
    }

    /// Unmerged pieces for one fused projection of one layer.
    struct UnmergedSlot: Sendable {
        /// Every A for the projections of this slot, stacked (R × in).
        let stackedA: PanelMatrix
        /// Per projection: its first output row in the fused output, its first row in `stackedA`, and its
        /// scaled `B_cat` (out × R_m) in panels, so the second product runs on the same kernel as the base.
        let parts: [(outputOffset: Int, rankOffset: Int, b: PanelMatrix)]
    }

    /// The adapters, in the order given.
    public let entries: [Entry]
    /// The mode the set was built in (`auto` resolved); `.unmerged` for an empty set.
    public let resolvedMode: Mode
    /// Bytes this set holds beyond the base model and the adapters themselves.
    public let extraBytes: Int

    /// Fused projections per layer: slot (layer, s) is stored at `layer · slotsPerLayer + s.rawValue`.
    private static let slotsPerLayer = FusedLinear.allCases.count

    static func index(layer: Int, slot: FusedLinear) -> Int { layer * slotsPerLayer + slot.rawValue }

    private static func base(_ model: LlamaModel, at index: Int) -> PanelMatrix {
        model.weights.layers[index / slotsPerLayer].weight(FusedLinear.allCases[index % slotsPerLayer])
    }
    private let merged: [PanelMatrix?]
    /// Internal: `addDeltas` applies the pieces of several sets in one pass.
    let unmerged: [UnmergedSlot?]

    /// The empty set: the base model.
    public static let none = AdapterSet()

    private init() {
        entries = []
        resolvedMode = .unmerged
        extraBytes = 0
        merged = []
        unmerged = []
    }

    /// Builds the set for `model`. `mergeBudgetBytes` bounds the extra memory `auto` may spend on merging.
    /// `deltaElement` is the format of an unmerged set's A and B panels: f32 (default, exact), or a 16-bit format
    /// that halves the bytes each step reads for the delta at the cost of rounding A and B (f16: ~5e-4 relative;
    /// a matrix with values past f16's range stays f32); a merged set is always built from f32 values.
    /// Throws `AdapterLoadError` when a scale, or a scale times an adapter's alpha/r, is not finite, or an adapter
    /// does not fit the model.
    public init(_ entries: [Entry], model: LlamaModel, mode: Mode = .auto, mergeBudgetBytes: Int = 2 << 30,
                deltaElement: PanelElement = .float32) throws {
        let c = model.config
        for e in entries where !e.scale.isFinite {
            throw AdapterLoadError.nonFiniteScale(adapter: e.adapter.name, scale: e.scale)
        }
        for e in entries {
            // The scale folded into B (`stack`) must be finite too, and so must B's values times it: a scale of
            // 3e38 times a scaling of 2 is not, nor is a finite scale times a B value of 1e30.
            for key in e.adapter.modules.keys.sorted() {
                guard let w = e.adapter.modules[key] else { continue }
                let folded = e.scale * w.scaling
                if !folded.isFinite || !(folded * Self.largestMagnitude(w.b)).isFinite {
                    throw AdapterLoadError.scaleOverflow(adapter: e.adapter.name, scale: e.scale, module: key.name, scaling: w.scaling)
                }
            }
            for (key, w) in e.adapter.modules {
                let (out, inDim) = key.module.shape(c)
                guard key.layer < c.layerCount, w.a.cols == inDim, w.b.rows == out, w.a.rows == w.b.cols else {
                    throw AdapterLoadError.shapeMismatch(
                        path: e.adapter.name, tensor: "\(key.name).lora_A/lora_B", expected: [out, inDim], actual: [w.b.rows, w.a.cols])
                }
            }
        }
        self.entries = entries
        let slotCount = c.layerCount * Self.slotsPerLayer
        // Which (layer, slot) pairs any adapter touches.
        var touched = [Bool](repeating: false, count: slotCount)
        for e in entries { for key in e.adapter.modules.keys { touched[Self.index(layer: key.layer, slot: key.module.fusedSlot)] = true } }
        let mergedBytes = (0..<slotCount).reduce(0) { sum, i in
            touched[i] ? sum + Self.base(model, at: i).float32ByteCount : sum
        }
        let useMerged: Bool
        switch mode {
        case .merged: useMerged = true
        case .unmerged: useMerged = false
        case .auto:
            // A merged weight is f32; over a 16-bit base it would double the bytes every token reads, which
            // costs more than the unmerged delta's two thin products.
            let basesAreFloat32 = (0..<slotCount).allSatisfy { !touched[$0] || Self.base(model, at: $0).element == .float32 }
            useMerged = basesAreFloat32 && mergedBytes <= mergeBudgetBytes
        }

        var unmergedSlots = [UnmergedSlot?](repeating: nil, count: slotCount)
        var extra = 0
        for layer in 0..<c.layerCount {
            for slot in FusedLinear.allCases {
                let index = Self.index(layer: layer, slot: slot)
                guard touched[index],
                      let built = Self.stack(entries, layer: layer, slot: slot, config: c, element: useMerged ? .float32 : deltaElement) else { continue }
                unmergedSlots[index] = built
                extra += built.stackedA.byteCount + built.parts.reduce(0) { $0 + $1.b.byteCount }
            }
        }
        if useMerged {
            var mergedSlots = [PanelMatrix?](repeating: nil, count: slotCount)
            for index in 0..<slotCount {
                guard let pieces = unmergedSlots[index] else { continue }
                mergedSlots[index] = Self.merge(base: Self.base(model, at: index), pieces)
            }
            merged = mergedSlots
            unmerged = []
            resolvedMode = .merged
            extraBytes = mergedBytes
        } else {
            merged = []
            unmerged = unmergedSlots
            resolvedMode = .unmerged
            extraBytes = extra
        }
    }

    /// Whether the set applies no adapter at all.
    public var isEmpty: Bool { entries.isEmpty }

    public func mergedWeight(layer: Int, slot: FusedLinear) -> PanelMatrix? {
        guard !merged.isEmpty else { return nil }
        return merged[Self.index(layer: layer, slot: slot)]
    }

    public func addDelta(layer: Int, slot: FusedLinear, x: UnsafePointer<Float>, ldx: Int, rows: Int, y: UnsafeMutablePointer<Float>, ldy: Int) {
        Self.addDeltas([RowDelta(set: self, firstRow: 0, rows: rows)], layer: layer, slot: slot, x: x, ldx: ldx, y: y, ldy: ldy)
    }
}

extension AdapterSet {
    /// The largest |value| of `m` (0 when empty).
    static func largestMagnitude(_ m: Matrix) -> Float {
        var largest: Float = 0
        for i in 0..<(m.rows * m.cols) { largest = max(largest, abs(m.pointer[i])) }
        return largest
    }

    /// Stacks the A and scaled B of every entry's modules in `slot` of `layer`; nil when none is targeted.
    static func stack(_ entries: [Entry], layer: Int, slot: FusedLinear, config c: LlamaConfig, element: PanelElement = .float32) -> UnmergedSlot? {
        var blocks: [(module: LlamaModule, weights: LoraModuleWeights, scale: Float)] = []
        for module in slot.modules {
            for e in entries {
                if let w = e.adapter.modules[LoraModuleKey(layer: layer, module: module)] {
                    blocks.append((module, w, e.scale * w.scaling))
                }
            }
        }
        guard !blocks.isEmpty else { return nil }
        let inDim = blocks[0].weights.a.cols
        let totalRank = blocks.reduce(0) { $0 + $1.weights.rank }
        let stackedA = Matrix(rows: totalRank, cols: inDim)
        var parts: [(outputOffset: Int, rankOffset: Int, b: PanelMatrix)] = []
        var row = 0
        for module in slot.modules {
            let mine = blocks.filter { $0.module == module }
            guard !mine.isEmpty else { continue }
            let rankOffset = row
            let moduleRank = mine.reduce(0) { $0 + $1.weights.rank }
            let out = module.shape(c).out
            // B_cat (out × R_m): the adapters' B side by side, each times its scale.
            let bCat = Matrix(rows: out, cols: moduleRank)
            var col = 0
            for block in mine {
                let r = block.weights.rank
                (stackedA.pointer + row * inDim).update(from: block.weights.a.pointer, count: r * inDim)
                for o in 0..<out {
                    let src = block.weights.b.pointer + o * r
                    for j in 0..<r { bCat[o, col + j] = block.scale * src[j] }
                }
                row += r
                col += r
            }
            parts.append((module.fusedRowOffset(c), rankOffset, pack(bCat, element)))
        }
        return UnmergedSlot(stackedA: pack(stackedA, element), parts: parts)
    }

    /// `m` in panels of `element`, or of f32 when f16 cannot hold its values.
    static func pack(_ m: Matrix, _ element: PanelElement) -> PanelMatrix {
        if element == .float32 || (element == .float16 && largestMagnitude(m) > 65504) { return PanelMatrix(packing: m) }
        return PanelMatrix(packing: m.pointer, rows: m.rows, cols: m.cols, element: element)
    }

    /// `W + Σ B_cat · A_cat` per projection of the slot, as a new f32 matrix (a 16-bit base is widened: the
    /// merged weight is the sum, not the sum rounded back to the checkpoint's format).
    static func merge(base: PanelMatrix, _ pieces: UnmergedSlot) -> PanelMatrix {
        let out = PanelMatrix(widening: base)
        let inDim = base.cols, w = PanelMatrix.width
        for part in pieces.parts {
            let rank = part.b.cols, rows = part.b.rows
            // B_cat (rows × R_m) = Btᵀ, padded with zero rows to the panels the projection overlaps.
            let firstPanel = part.outputOffset / w
            let panelRows = ((part.outputOffset + rows + w - 1) / w - firstPanel) * w
            let lead = part.outputOffset - firstPanel * w
            let padded = Matrix(rows: panelRows, cols: rank)
            for o in 0..<rows { part.b.copyRow(o, to: padded.row(lead + o)) }
            // A_catᵀ (in × R_m) for this projection's rows of A_cat.
            let aTransposed = Matrix(rows: inDim, cols: rank)
            for k in 0..<inDim {
                for r in 0..<rank { aTransposed[k, r] = pieces.stackedA[part.rankOffset + r, k] }
            }
            PanelGEMM.addProduct(into: out, firstPanel: firstPanel, b: PanelMatrix(packing: padded), aTransposed: aTransposed.pointer)
        }
        return out
    }
}
