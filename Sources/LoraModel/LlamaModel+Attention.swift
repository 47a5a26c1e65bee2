import Foundation
import LoraNumerics

extension LlamaModel {
    /// Positions per attention segment in decode: a sequence's positions are split into segments of this
    /// many, each attended on its own (scores, unnormalized softmax, weighted values) and then combined, so
    /// one long sequence keeps every core busy and reads its cache once. 32 positions of one layer are 48 KiB
    /// of keys and values at SmolLM2's shape; the partial outputs add 5% to that.
    static let attentionSegment = DecodeAttention.segmentPositions

    /// How a batch's chunks attend, decided once per forward pass (it is the same in every layer).
    struct AttentionPlan {
        /// Chunks long enough (prefill) to gather keys and values and use sgemm.
        var gathered: [Int] = []
        /// Decode-sized chunks that read the pages directly.
        var direct: [Int] = []
        /// Start of each direct chunk's partial results: outputs (token, head, segment, Dh), then statistics
        /// (token, head, segment, 2).
        var partialOffset: [Int] = []
        var partialFloats = 0
        /// Segments of each direct chunk.
        var segmentCount: [Int] = []
        /// Work items, (direct chunk index, segment): every head of one segment of one chunk. Items of one chunk
        /// are adjacent, so a range of items reads neighbouring pages.
        var items: [(chunk: Int, segment: Int)] = []
        /// Combine work (floats written) over all direct chunks.
        var combineFloats = 0
    }

    func attentionPlan(_ batch: [SequenceChunk]) -> AttentionPlan {
        var plan = AttentionPlan()
        let h = config.headCount, dh = config.headDim
        for (s, chunk) in batch.enumerated() where !chunk.tokens.isEmpty {
            if chunk.tokens.count >= Self.gatherThreshold {
                plan.gathered.append(s)
                continue
            }
            let positions = chunk.cachedLength + chunk.tokens.count
            let segments = (positions + Self.attentionSegment - 1) / Self.attentionSegment
            let i = plan.direct.count
            plan.direct.append(s)
            plan.partialOffset.append(plan.partialFloats)
            plan.partialFloats += chunk.tokens.count * h * segments * (dh + 2)
            plan.segmentCount.append(segments)
            for g in 0..<segments { plan.items.append((i, g)) }
            plan.combineFloats += chunk.tokens.count * h * segments * dh
        }
        return plan
    }

    /// Causal grouped-query attention of every chunk over its cached and new positions, writing
    /// `attention (T, Dq)`. Long chunks (prefill) gather their keys and values and use sgemm; short ones
    /// (decode) read the pages directly, in parallel over segments of their positions (every head of a
    /// segment in one item, so a page is read from memory once), and then join the segments' results.
    func attend(_ batch: [SequenceChunk], plan: AttentionPlan, rowStart: [Int], layer: Int, cache: KVPagePool, scratch: ForwardScratch) {
        for s in plan.gathered {
            attendGathered(batch[s], firstRow: rowStart[s], layer: layer, cache: cache, scratch: scratch)
        }
        guard !plan.direct.isEmpty else { return }
        scratch.ensurePartials(plan.partialFloats)
        // Page sizes that are not a multiple of 8 have eight-position vectors straddling pages: those segments
        // are copied into a per-core buffer first.
        let gatherFloats = cache.pageSize % 8 == 0 ? 0 : 2 * Self.attentionSegment * config.headDim
        scratch.ensureSegmentGather(ParallelFor.workerCount * gatherFloats)
        let buffers = UncheckedSendableBox((scratch.partials.pointer, scratch.segmentGather.pointer, scratch.qkv.pointer))
        // Sequences differ in length, so items are handed out as the cores free up rather than split evenly.
        ParallelFor.shared(count: plan.items.count, grain: 1) { part, nextRange in
            let (partials, gather, qkv) = buffers.value
            while let range = nextRange() {
                for item in range {
                    let (i, g) = plan.items[item]
                    let s = plan.direct[i]
                    attendSegment(batch[s], segment: g, of: plan.segmentCount[i], layer: layer, cache: cache, qkv: qkv,
                                  gather: gather + part * gatherFloats, firstRow: rowStart[s], partials: partials + plan.partialOffset[i])
                }
            }
        }
        // Joining is ~1/S of the segments' arithmetic (~20 µs a layer at batch 16, context 128): in parallel
        // when each core gets a few thousand floats of it.
        let grain = max(1, plan.direct.count * 4096 / max(plan.combineFloats, 1))
        let out = UncheckedSendableBox(scratch.attention.pointer)
        ParallelFor.ranges(count: plan.direct.count, grain: grain) { chunks in
            let (partials, _, _) = buffers.value
            for i in chunks {
                let s = plan.direct[i]
                combineSegments(batch[s], segments: plan.segmentCount[i], firstRow: rowStart[s],
                                partials: partials + plan.partialOffset[i], output: out.value)
            }
        }
    }

    /// One segment (positions `segment·S ..< (segment + 1)·S`) of a decode-sized chunk, every query head, kv
    /// head by kv head with its query heads together (`DecodeAttention.attendSegment`): partial results for
    /// `combineSegments`. Each head's arithmetic depends only on the sequence and the segment, never on the rest
    /// of the batch.
    private func attendSegment(
        _ chunk: SequenceChunk, segment g: Int, of segments: Int, layer: Int, cache: KVPagePool, qkv: UnsafeMutablePointer<Float>,
        gather: UnsafeMutablePointer<Float>, firstRow: Int, partials: UnsafeMutablePointer<Float>
    ) {
        let c = config
        let dh = c.headDim, p = cache.pageSize, heads = c.headCount
        let groupSize = c.headCount / c.kvHeadCount
        let scale = 1 / Float(dh).squareRoot()
        let first = g * Self.attentionSegment
        let statistics = Self.statistics(of: partials, tokens: chunk.tokens.count, heads: heads, segments: segments, headDim: dh)
        let direct = p % 8 == 0
        let halfPrecision = direct && cache.precision == .f16
        let elementBytes = cache.precision.elementBytes
        withUnsafeTemporaryAllocation(of: UnsafeRawPointer?.self, capacity: 8) { vectors in
            for j in 0..<chunk.tokens.count {
                // Token j sees positions up to its own; a segment past them is not part of its sum.
                let end = min(first + Self.attentionSegment, chunk.cachedLength + j + 1)
                guard end > first else { continue }
                let count = end - first
                let r = firstRow + j
                for kv in 0..<c.kvHeadCount {
                    let keyStride: Int
                    if direct {
                        // Each vector of eight positions lies in one page; its lanes past `count` stay in the page.
                        for v in 0..<(count + 7) / 8 {
                            let position = first + 8 * v
                            let page = chunk.pages[position / p], column = position % p
                            vectors[v] = cache.keys(page: page, layer: layer, kvHead: kv) + column * elementBytes
                            vectors[4 + v] = cache.values(page: page, layer: layer, kvHead: kv) + column * dh * elementBytes
                        }
                        keyStride = p
                    } else {
                        gatherSegment(chunk, first: first, count: count, layer: layer, kvHead: kv, cache: cache, into: gather)
                        for v in 0..<4 {
                            vectors[v] = UnsafeRawPointer(gather + 8 * v)
                            vectors[4 + v] = UnsafeRawPointer(gather + (Self.attentionSegment + 8 * v) * dh)
                        }
                        keyStride = Self.attentionSegment
                    }
                    let slot = (j * heads + kv * groupSize) * segments + g
                    DecodeAttention.attendSegment(
                        queries: qkv + r * c.qkvWidth + kv * groupSize * dh, heads: groupSize, dim: dh, scale: scale,
                        keys: UnsafePointer(vectors.baseAddress!), keyStride: keyStride, values: UnsafePointer(vectors.baseAddress! + 4),
                        halfPrecision: halfPrecision, count: count, outputs: partials + slot * dh, outputStride: segments * dh,
                        statistics: statistics + 2 * slot, statisticsStride: 2 * segments)
                }
            }
        }
    }

    /// Copies `count` positions from `first` of one kv head into `buffer` as f32: keys transposed (Dh, S), then
    /// values (S, Dh), for page sizes whose eight-position vectors cross pages.
    private func gatherSegment(
        _ chunk: SequenceChunk, first: Int, count: Int, layer: Int, kvHead: Int, cache: KVPagePool, into buffer: UnsafeMutablePointer<Float>
    ) {
        let dh = config.headDim, p = cache.pageSize, s = Self.attentionSegment
        var i = 0
        while i < count {
            let position = first + i
            let page = chunk.pages[position / p], column = position % p
            let run = min(p - column, count - i)
            cache.copyKeys(page: page, layer: layer, kvHead: kvHead, column: column, count: run, into: buffer + i, rowStride: s)
            cache.copyValues(page: page, layer: layer, kvHead: kvHead, row: column, count: run, into: buffer + (s + i) * dh)
            i += run
        }
    }

    /// Where a chunk's segment statistics (token, head, segment, 2) start in its partial results, after the
    /// outputs (token, head, segment, Dh).
    private static func statistics(
        of partials: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, segments: Int, headDim: Int
    ) -> UnsafeMutablePointer<Float> {
        partials + tokens * heads * segments * headDim
    }

    /// Joins a decode-sized chunk's segments into its rows of `output (T, Dq)`, each token over the segments
    /// it can see.
    private func combineSegments(
        _ chunk: SequenceChunk, segments: Int, firstRow: Int, partials: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let c = config
        let dh = c.headDim, heads = c.headCount
        let statistics = Self.statistics(of: partials, tokens: chunk.tokens.count, heads: heads, segments: segments, headDim: dh)
        for j in 0..<chunk.tokens.count {
            let visible = chunk.cachedLength + j + 1
            let seen = (visible + Self.attentionSegment - 1) / Self.attentionSegment
            for h in 0..<heads {
                let slot = (j * heads + h) * segments
                DecodeAttention.combine(partials: partials + slot * dh, statistics: statistics + 2 * slot, segments: seen, dim: dh,
                                        into: output + (firstRow + j) * c.queryDim + h * dh)
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
        // keys: (Hkv, Dh, S), transposed as the pages keep them; values: (Hkv, S, Dh)
        scratch.ensureGather(positions: c.kvHeadCount * total, headDim: dh)
        let keys = scratch.gatheredKeys.pointer, values = scratch.gatheredValues.pointer
        for g in 0..<c.kvHeadCount {
            let headKeys = keys + g * total * dh, headValues = values + g * total * dh
            var position = 0
            while position < total {
                let count = min(p, total - position)
                let page = chunk.pages[position / p]
                cache.copyKeys(page: page, layer: layer, kvHead: g, column: 0, count: count, into: headKeys + position, rowStride: total)
                cache.copyValues(page: page, layer: layer, kvHead: g, row: 0, count: count, into: headValues + position * dh)
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
        // scores (rows, keyCount) = scale · Q_h (rows, Dh) · Kᵀ (Dh, keyCount)
        BLAS.sgemm(
            transA: false, transB: false, m: rows, n: keyCount, k: dh, alpha: scale,
            a: qkv + (firstRow + j0) * qkvWidth + h * dh, lda: qkvWidth, b: headKeys, ldb: total,
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
