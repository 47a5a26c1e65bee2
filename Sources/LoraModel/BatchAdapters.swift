/// The adapters of one forward batch, per sequence (DESIGN.md §7): most sequences run under one shared set
/// (the engine's global set, merged or unmerged), others under sets of their own.
///
/// Every row gets the base product; a shared merged weight replaces it on the shared set's rows only, and each
/// set's unmerged delta is added on its own rows only. So a sequence with a set of its own computes on the base
/// weights plus its set's delta whatever the shared set is, and every sequence's logits equal, bit for bit,
/// those of the same sequence run alone under its set (the linear products give a row the same bits whatever
/// shares the step).
public struct BatchAdapters: Sendable {
    /// The set of the sequences given no set of their own; nil: the base model.
    public var shared: (any ProjectionAdapter)?
    /// Sets of their own, applied as unmerged deltas over the base weights: build them `.unmerged` (a merged
    /// set is refused, `ForwardError.invalidAdapters`). An empty set (`AdapterSet.none`) is the base model.
    public var own: [AdapterSet]
    /// Per sequence of the batch, in order: nil runs under `shared`, `i` under `own[i]`. Empty: every sequence
    /// under `shared`. Rows of one set cost least when their sequences are next to each other in the batch
    /// (each block of consecutive sequences of one set is one part of the products).
    public var assignment: [Int?]

    /// Every sequence under `shared` (nil: the base model), unless `assignment` gives some a set of `own`.
    public init(shared: (any ProjectionAdapter)? = nil, own: [AdapterSet] = [], assignment: [Int?] = []) {
        self.shared = shared
        self.own = own
        self.assignment = assignment
    }
}

/// The rows of a forward batch grouped by adapter set, computed once per forward pass.
struct RowPlan {
    /// Consecutive rows under one set: `group` nil for the shared set, else an index into `own`.
    struct Segment {
        var rows: Range<Int>
        var group: Int?
    }

    var segments: [Segment] = []
    /// Maximal blocks of rows that are all shared or all own: where a shared merged weight applies.
    var weightRuns: [(rows: Range<Int>, shared: Bool)] = []
    var hasOwn = false
    var hasShared = false

    /// The plan for `batch` under `adapters`; throws `ForwardError.invalidAdapters` for an assignment that
    /// does not fit the batch or the sets.
    init(_ batch: [SequenceChunk], adapters: BatchAdapters) throws {
        let assignment = adapters.assignment
        guard assignment.isEmpty || assignment.count == batch.count else {
            throw ForwardError.invalidAdapters("the assignment names \(assignment.count) sequences but the batch has \(batch.count); give one entry per sequence")
        }
        for (i, set) in adapters.own.enumerated() where set.resolvedMode == .merged {
            throw ForwardError.invalidAdapters("own set \(i) is merged; build sets of their own unmerged")
        }
        var row = 0
        for (s, chunk) in batch.enumerated() {
            let group = assignment.isEmpty ? nil : assignment[s]
            if let g = group, !adapters.own.indices.contains(g) {
                throw ForwardError.invalidAdapters("sequence \(s) names own set \(g), but there are \(adapters.own.count)")
            }
            let rows = row..<(row + chunk.tokens.count)
            row = rows.upperBound
            guard !rows.isEmpty else { continue }
            if group == nil { hasShared = true } else { hasOwn = true }
            if let last = segments.last, last.group == group, last.rows.upperBound == rows.lowerBound {
                segments[segments.count - 1].rows = last.rows.lowerBound..<rows.upperBound
            } else {
                segments.append(Segment(rows: rows, group: group))
            }
            let shared = group == nil
            if let last = weightRuns.last, last.shared == shared {
                weightRuns[weightRuns.count - 1].rows = last.rows.lowerBound..<rows.upperBound
            } else {
                weightRuns.append((rows, shared))
            }
        }
    }
}
