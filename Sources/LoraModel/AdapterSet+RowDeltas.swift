import LoraNumerics

extension AdapterSet {
    /// One set's unmerged delta on a block of consecutive rows of a projection.
    struct RowDelta {
        let set: AdapterSet
        let firstRow: Int
        let rows: Int
    }

    /// Adds each part's unmerged delta for (`layer`, `slot`) to its own rows of `y`, the parts of every set in
    /// one pass: the rows are gathered (a part's block of `x`), `t = x · A_catᵀ` for all parts in one parallel
    /// section, then `y += t · B_catᵀ` (scales folded into B) scatter-added onto the same rows, for all parts and
    /// projections in a second section. Each row gets, bit for bit, what the set alone would add to it: every
    /// product's chains run over k in the same order whatever else shares the call (`PanelGEMM`). Parts whose set
    /// has no unmerged piece for the slot (an empty or merged set, an untargeted projection) add nothing.
    static func addDeltas(
        _ parts: [RowDelta], layer: Int, slot: FusedLinear,
        x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int
    ) {
        let index = Self.index(layer: layer, slot: slot)
        var pieces: [(piece: UnmergedSlot, firstRow: Int, rows: Int, tOffset: Int)] = []
        var total = 0
        for part in parts where part.rows > 0 && !part.set.unmerged.isEmpty {
            guard let piece = part.set.unmerged[index] else { continue }
            pieces.append((piece, part.firstRow, part.rows, total))
            total += part.rows * piece.stackedA.rows
        }
        guard !pieces.isEmpty else { return }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: total) { tmp in
            guard let t = tmp.baseAddress else { return }
            // t_p (rows_p × R_p) = x[rows_p] · A_catᵀ, every part in one section.
            PanelGEMM.multiply(each: pieces.map { p in
                PanelGEMM.Product(p.piece.stackedA, x: x + p.firstRow * ldx, ldx: ldx, rows: p.rows, y: t + p.tOffset, ldy: p.piece.stackedA.rows)
            }, accumulate: false)
            // y[rows_p, offset..] += t_p[:, rankOffset..] · B_catᵀ, per part and projection.
            var products: [PanelGEMM.Product] = []
            for p in pieces {
                let rank = p.piece.stackedA.rows
                for projection in p.piece.parts {
                    products.append(PanelGEMM.Product(
                        projection.b, x: t + p.tOffset + projection.rankOffset, ldx: rank, rows: p.rows,
                        y: y + p.firstRow * ldy + projection.outputOffset, ldy: ldy))
                }
            }
            PanelGEMM.multiply(each: products, accumulate: true)
        }
    }
}
