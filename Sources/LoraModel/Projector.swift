import LoraNumerics

/// The fused projections of one forward pass under its `BatchAdapters`: which weight each row's product uses
/// and which delta each row gets.
struct Projector {
    let adapters: BatchAdapters
    let plan: RowPlan
    /// The shared set when it is an `AdapterSet`: its delta then joins the own sets' in one pass.
    let sharedSet: AdapterSet?

    init(adapters: BatchAdapters, plan: RowPlan) {
        self.adapters = adapters
        self.plan = plan
        sharedSet = adapters.shared as? AdapterSet
    }

    /// `y (+)= x·Wᵀ` for one fused projection of `layer`, with each row's adapters.
    @inline(__always)
    func project(
        _ slot: FusedLinear, layer: Int, weights layerWeights: LlamaLayerWeights,
        x: UnsafePointer<Float>, ldx: Int, rows: Int, y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool
    ) {
        let shared = adapters.shared
        let base = layerWeights.weight(slot)
        let merged = shared?.mergedWeight(layer: layer, slot: slot)
        guard plan.hasOwn else {
            // One set for every row: exactly the single-set pass.
            PanelGEMM.multiply(merged ?? base, x: x, ldx: ldx, rows: rows, y: y, ldy: ldy, accumulate: accumulate)
            shared?.addDelta(layer: layer, slot: slot, x: x, ldx: ldx, rows: rows, y: y, ldy: ldy)
            return
        }
        if let merged, plan.hasShared {
            // Rows with sets of their own compute on the base weights, the shared rows on the merged copy: one
            // product per block of consecutive rows of either kind (the engine puts the shared rows first: two).
            for run in plan.weightRuns {
                PanelGEMM.multiply(run.shared ? merged : base, x: x + run.rows.lowerBound * ldx, ldx: ldx, rows: run.rows.count,
                                   y: y + run.rows.lowerBound * ldy, ldy: ldy, accumulate: accumulate)
            }
        } else {
            PanelGEMM.multiply(base, x: x, ldx: ldx, rows: rows, y: y, ldy: ldy, accumulate: accumulate)
        }
        var parts: [AdapterSet.RowDelta] = []
        parts.reserveCapacity(plan.segments.count)
        for segment in plan.segments {
            let first = segment.rows.lowerBound, count = segment.rows.count
            if let g = segment.group {
                parts.append(AdapterSet.RowDelta(set: adapters.own[g], firstRow: first, rows: count))
            } else if let sharedSet {
                parts.append(AdapterSet.RowDelta(set: sharedSet, firstRow: first, rows: count))
            } else {
                shared?.addDelta(layer: layer, slot: slot, x: x + first * ldx, ldx: ldx, rows: count, y: y + first * ldy, ldy: ldy)
            }
        }
        AdapterSet.addDeltas(parts, layer: layer, slot: slot, x: x, ldx: ldx, y: y, ldy: ldy)
    }
}
