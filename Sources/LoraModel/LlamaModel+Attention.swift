import Foundation
import LoraNumerics

extension LlamaModel {
    /// How a batch's chunks attend, decided once per forward pass (it is the same in every layer).
    struct AttentionPlan {
        /// Chunks long enough (prefill) to gather keys and values and use sgemm.
        var gathered: [Int] = []
        /// Decode-sized chunks that read the pages directly.
        var direct: [Int] = []
        /// Start of each direct chunk's score rows, laid out (token, head, S) back to back.
        var scoreOffset: [Int] = []
        var scoreFloats = 0
        /// Query heads per work item: every head of the sequence when there are sequences enough for the cores
        /// (a page's keys, then its values, for all kv heads are contiguous: longer runs for the prefetchers),
        /// else a whole grouped-query group when there are groups enough, so its heads score each page while it
        /// is in L1 and the cache is read from memory once per group; else one head.
        var headsPerItem = 1
        /// Work items: direct chunks × (heads / headsPerItem).
        var itemCount = 0
        /// Smallest number of items worth a core.
        var grain = 1
    }

    func attentionPlan(_ batch: [SequenceChunk]) -> AttentionPlan {
        var plan = AttentionPlan()
        var work = 0
        for (s, chunk) in batch.enumerated() where !chunk.tokens.isEmpty {
            if chunk.tokens.count >= Self.gatherThreshold {
                plan.gathered.append(s)
            } else {
                plan.direct.append(s)
                plan.scoreOffset.append(plan.scoreFloats)
                let positions = chunk.cachedLength + chunk.tokens.count
                plan.scoreFloats += chunk.tokens.count * positions * config.headCount
                work += positions * config.headCount
            }
        }
        let group = config.headCount / config.kvHeadCount, enough = 4 * ParallelFor.workerCount
        if plan.direct.count >= enough {
            plan.headsPerItem = config.headCount
        } else if plan.direct.count * config.kvHeadCount >= enough {
            plan.headsPerItem = group
        } else {
            plan.headsPerItem = 1
        }
        plan.itemCount = plan.direct.count * config.headCount / plan.headsPerItem
        plan.grain = max(1, plan.itemCount * 256 / max(work, 1))
        return plan
    }

    /// Causal grouped-query attention of every chunk over its cached and new positions, writing
    /// `attention (T, Dq)`. Long chunks (prefill) gather their keys and values and use sgemm; short ones
    /// (decode) read the pages directly, in parallel across whole sequences when there are enough of them, else
    /// (sequence, kv group) items, else (sequence, head) items, so even one sequence's decode uses every core.
    func attend(_ batch: [SequenceChunk], plan: AttentionPlan, rowStart: [Int], layer: Int, cache: KVPagePool, scratch: ForwardScratch) {
        for s in plan.gathered {
            attendGathered(batch[s], firstRow: rowStart[s], layer: layer, cache: cache, scratch: scratch)
        }
        guard !plan.direct.isEmpty else { return }
        scratch.ensureScores(plan.scoreFloats)
        let scores = UncheckedSendableBox(scratch.scores.pointer)
        let itemsPerChunk = config.headCount / plan.headsPerItem
        // Sequences differ in length, so items are handed out as the cores free up rather than split evenly.
        ParallelFor.shared(count: plan.itemCount, grain: plan.grain) { _, nextRange in
            while let range = nextRange() {
                for item in range {
                    let i = item / itemsPerChunk, first = (item % itemsPerChunk) * plan.headsPerItem
                    let s = plan.direct[i]
                    attendDirect(batch[s], heads: first..<(first + plan.headsPerItem), firstRow: rowStart[s], layer: layer,
                                 cache: cache, scratch: scratch, scores: scores.value + plan.scoreOffset[i])
                }
            }
        }
    }

    /// Decode-sized chunks, query heads `heads` (whole grouped-query groups, or one head): dot products straight
    /// from the pages, page by page with every head of the range, so a page is read from memory once.
    /// Each head's arithmetic (and so its result, bit for bit) is the same whatever the range. Score rows are
    /// laid out (token, head, S) from `scores`, so items can run in parallel.
    private func attendDirect(
        _ chunk: SequenceChunk, heads: Range<Int>, firstRow: Int, layer: Int, cache: KVPagePool, scratch: ForwardScratch,
        scores: UnsafeMutablePointer<Float>
    ) {
        let c = config
        let dh = c.headDim, p = cache.pageSize
        let qkvWidth = c.qkvWidth
        let groupSize = c.headCount / c.kvHeadCount
        let scale = 1 / Float(dh).squareRoot()
        let qkv = scratch.qkv.pointer, out = scratch.attention.pointer
        let total = chunk.cachedLength + chunk.tokens.count
        for j in 0..<chunk.tokens.count {
            let visible = chunk.cachedLength + j + 1
            let r = firstRow + j
            let rowScores = scores + j * c.headCount * total
            // A head's keys (and values) within a page are contiguous.
            var position = 0
            while position < visible {
                let page = chunk.pages[position / p]
                let count = min(p - position % p, visible - position)
                for h in heads {
                    let k = UnsafePointer(cache.keys(page: page, layer: layer, kvHead: h / groupSize) + (position % p) * dh)
                    DecodeAttention.score(query: qkv + r * qkvWidth + h * dh, keys: k, count: count, dim: dh, scale: scale,
                                          into: rowScores + h * total + position)
                }
                position += count
            }
            for h in heads {
                Softmax.inPlace(rowScores + h * total, visible)
                (out + r * c.queryDim + h * dh).update(repeating: 0, count: dh)
            }
            position = 0
            while position < visible {
                let page = chunk.pages[position / p]
                let count = min(p - position % p, visible - position)
                for h in heads {
                    let v = UnsafePointer(cache.keys(page: page, layer: layer, kvHead: h / groupSize) + cache.valueOffset + (position % p) * dh)
                    DecodeAttention.accumulate(weights: rowScores + h * total + position, values: v, count: count, dim: dh,
                                               into: out + r * c.queryDim + h * dh)
                }
                position += count
            }
        }
    }

    /// Query rows per block in the gathered path.
    static let queryBlock = 64

    /// Prefill-sized chunks: gather every kv head's keys and values contiguously, then, in parallel across query
    /// heads, two single-threaded sgemm per block of query rows.
    private func attendGathered(_ chunk: SequenceChunk, firstRow: Int, layer: Int, cache: KVPagePool, scratch: ForwardScratch) {
        let c = config
        let dh = c.headDim, p = cache.pageSize
        let n = chunk.tokens.count
        let total = chunk.cachedLength + n
        // keys, values: (Hkv, S, Dh)
        scratch.ensureGather(positions: c.kvHeadCount * total, headDim: dh)
        let keys = scratch.gatheredKeys.pointer, values = scratch.gatheredValues.pointer
        for g in 0..<c.kvHeadCount {
            let headKeys = keys + g * total * dh, headValues = values + g * total * dh
            var position = 0
            while position < total {
                let count = min(p, total - position)
                let k = cache.keys(page: chunk.pages[position / p], layer: layer, kvHead: g)
                (headKeys + position * dh).update(from: k, count: count * dh)
                (headValues + position * dh).update(from: k + cache.valueOffset, count: count * dh)
                position += count
            }
        }
        // Work items are (head, block of query rows), so the cores stay balanced whatever the head count.
        let blocks = (n + Self.queryBlock - 1) / Self.queryBlock
        let blockFloats = Self.queryBlock * total
        scratch.ensureScores(ParallelFor.workerCount * blockFloats)
        let shared = UncheckedSendableBox((keys, values, scratch.scores.pointer, scratch.qkv.pointer, scratch.attention.pointer))
        ParallelFor.parts(count: c.headCount * blocks, grain: 1) { part, items in
            let (keys, values, scoreBase, qkv, out) = shared.value
            for item in items {
                attendBlock(head: item / blocks, block: item % blocks, chunk: chunk, firstRow: firstRow, keys: keys, values: values,
                            scores: scoreBase + part * blockFloats, qkv: qkv, out: out)
            }
        }
    }

    /// One query head and one block of its query rows over gathered keys/values; the block attends only to the
    /// keys its last row can see (causality halves the work of a long prompt).
    private func attendBlock(
        head h: Int, block: Int, chunk: SequenceChunk, firstRow: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        scores: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let c = config
        let dh = c.headDim
        let qkvWidth = c.qkvWidth
        let n = chunk.tokens.count
        let total = chunk.cachedLength + n
        let g = h / (c.headCount / c.kvHeadCount)
        let headKeys = keys + g * total * dh, headValues = values + g * total * dh
        let scale = 1 / Float(dh).squareRoot()
        let j0 = block * Self.queryBlock
        let j1 = min(n, j0 + Self.queryBlock)
        let rows = j1 - j0, keyCount = chunk.cachedLength + j1
        // scores (rows, keyCount) = scale · Q_h (rows, Dh) · K (keyCount, Dh)ᵀ
        BLAS.sgemm(
            transA: false, transB: true, m: rows, n: keyCount, k: dh, alpha: scale,
            a: qkv + (firstRow + j0) * qkvWidth + h * dh, lda: qkvWidth, b: headKeys, ldb: dh,
            beta: 0, c: scores, ldc: keyCount)
        for j in 0..<rows {
            let visible = chunk.cachedLength + j0 + j + 1
            let rowScores = scores + j * keyCount
            Softmax.inPlace(rowScores, visible)
            (rowScores + visible).update(repeating: 0, count: keyCount - visible)
        }
        // out_h (rows, Dh) = scores (rows, keyCount) · V (keyCount, Dh)
        BLAS.sgemm(
            transA: false, transB: false, m: rows, n: dh, k: keyCount, alpha: 1,
            a: scores, lda: keyCount, b: headValues, ldb: dh,
            beta: 0, c: out + (firstRow + j0) * c.queryDim + h * dh, ldc: c.queryDim)
    }
}
