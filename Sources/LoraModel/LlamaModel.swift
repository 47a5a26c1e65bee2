import Foundation
import LoraNumerics

/// A Llama-family causal language model: immutable weights and configuration. Per-sequence state (the KV
/// cache) and scratch space are arguments to `forward`, so one model serves any number of sequences and can be
/// shared across threads.
public struct LlamaModel: Sendable {
    /// The validated configuration.
    public let config: LlamaConfig
    /// The weights.
    public let weights: LlamaWeights
    /// RoPE frequencies.
    public let rotary: RotaryEmbedding

    /// Chunks of at least this many new tokens attend through gathered keys and sgemm; shorter ones
    /// (decode) read the pages directly.
    static let gatherThreshold = 8

    /// A model from already-loaded weights.
    public init(config: LlamaConfig, weights: LlamaWeights) {
        self.config = config
        self.weights = weights
        rotary = config.rotaryEmbedding
    }

    /// Loads a Hugging Face checkpoint directory (config.json, generation_config.json, safetensors).
    public init(directory: URL, precision: WeightPrecision = .asStored) throws {
        let config = try LlamaConfig(directory: directory)
        let source = try CheckpointWeights(directory: directory)
        self.init(config: config, weights: try LlamaWeights(config: config, source: source, precision: precision))
    }

    /// A model of `config`'s shape with deterministic random weights (tests, benchmarks), stored as `element`
    /// the way a checkpoint in that format would be.
    public init(randomWeights config: LlamaConfig, seed: UInt64 = 1, element: PanelElement = .float32,
                precision: WeightPrecision = .asStored) throws {
        try config.validate()
        let source = RandomWeights(seed: seed, element: element)
        self.init(config: config, weights: try LlamaWeights(config: config, source: source, precision: precision))
    }

    /// Runs one ragged batch: each chunk's tokens are appended after its cached positions, their keys and
    /// values are written into its pages, and the requested logits are returned, one row per requested
    /// position in chunk order (V columns). Throws `ForwardError` before computing anything if a chunk is
    /// invalid, including chunks that share a page (`ForwardError.sharedPage`: keys and values are written from
    /// several cores at once, and one sequence's would overwrite another's).
    public func forward(
        _ batch: [SequenceChunk], cache: KVPagePool, scratch: ForwardScratch, adapters: (any ProjectionAdapter)? = nil
    ) throws -> Matrix {
        try forward(batch, cache: cache, scratch: scratch, adapters: BatchAdapters(shared: adapters))
    }

    /// `forward(_:cache:scratch:adapters:)` with sequences under different adapter sets (`BatchAdapters`):
    /// the base products run once over every row, a shared merged weight on the shared rows, and each set's
    /// unmerged delta on its own rows. Throws `ForwardError.invalidAdapters` for an assignment that does not fit.
    public func forward(_ batch: [SequenceChunk], cache: KVPagePool, scratch: ForwardScratch, adapters: BatchAdapters) throws -> Matrix {
        try validate(batch, cache: cache)
        let rowPlan = try RowPlan(batch, adapters: adapters)
        let projector = Projector(adapters: adapters, plan: rowPlan)
        let c = config
        let totalTokens = batch.reduce(0) { $0 + $1.tokens.count }
        let logitRows = batch.reduce(0) { $0 + $1.logitRowCount }
        guard totalTokens > 0 else { return Matrix(rows: 0, cols: c.vocabSize) }
        scratch.ensure(tokens: totalTokens, config: c)

        let d = c.hiddenSize, half = c.headDim / 2
        let qkvWidth = c.qkvWidth
        let x = scratch.hidden.pointer, xn = scratch.normed.pointer
        let qkv = scratch.qkv.pointer, attn = scratch.attention.pointer

        // Embeddings and per-token RoPE angles (shared by all layers).
        var rowStart: [Int] = [], rowSequence: [Int] = []
        rowStart.reserveCapacity(batch.count)
        rowSequence.reserveCapacity(totalTokens)
        var row = 0
        for (s, chunk) in batch.enumerated() {
            rowStart.append(row)
            for (j, token) in chunk.tokens.enumerated() {
                rowSequence.append(s)
                weights.embed(Int(token), into: x + row * d)
                rotary.angles(position: chunk.cachedLength + j, cos: scratch.cos.pointer + row * half, sin: scratch.sin.pointer + row * half)
                row += 1
            }
        }

        let plan = attentionPlan(batch)
        for (l, layer) in weights.layers.enumerated() {
            RMSNorm.apply(x: x, ldx: d, weight: layer.inputNorm.pointer, y: xn, ldy: d, rows: totalTokens, dim: d, eps: c.rmsNormEps)
            projector.project(.qkv, layer: l, weights: layer, x: xn, ldx: d, rows: totalTokens, y: qkv, ldy: qkvWidth, accumulate: false)
            rotateAndStore(batch, rows: rowSequence, rowStart: rowStart, layer: l, qkv: qkv, scratch: scratch, cache: cache)
            attend(batch, plan: plan, rowStart: rowStart, layer: l, cache: cache, scratch: scratch)
            projector.project(.o, layer: l, weights: layer, x: attn, ldx: c.queryDim, rows: totalTokens, y: x, ldy: d, accumulate: true)

            RMSNorm.apply(x: x, ldx: d, weight: layer.postNorm.pointer, y: xn, ldy: d, rows: totalTokens, dim: d, eps: c.rmsNormEps)
            let gu = scratch.gateUp.pointer, act = scratch.activated.pointer
            projector.project(.gateUp, layer: l, weights: layer, x: xn, ldx: d, rows: totalTokens, y: gu, ldy: 2 * c.intermediateSize, accumulate: false)
            Activation.siluGate(gateUp: gu, ld: 2 * c.intermediateSize, out: act, ldo: c.intermediateSize, rows: totalTokens, dim: c.intermediateSize)
            projector.project(.down, layer: l, weights: layer, x: act, ldx: c.intermediateSize, rows: totalTokens, y: x, ldy: d, accumulate: true)
        }

        // Final norm and LM head for the requested rows only.
        var selected = 0
        for (s, chunk) in batch.enumerated() {
            // The last `logitRowCount` rows of the chunk (none for an empty chunk).
            let end = rowStart[s] + chunk.tokens.count
            for r in (end - chunk.logitRowCount)..<end {
                RMSNorm.apply(x: x + r * d, ldx: d, weight: weights.finalNorm.pointer, y: xn + selected * d, ldy: d, rows: 1, dim: d, eps: c.rmsNormEps)
                selected += 1
            }
        }
        // Every element is written by the LM head product.
        let logits = Matrix(uninitializedRows: logitRows, cols: c.vocabSize)
        PanelGEMM.multiply(weights.lmHead, x: xn, ldx: d, rows: logitRows, y: logits.pointer, ldy: c.vocabSize)
        return logits
    }

    private func validate(_ batch: [SequenceChunk], cache: KVPagePool) throws {
        var used = Set<Int32>()
        for (s, chunk) in batch.enumerated() {
            for token in chunk.tokens where token < 0 || Int(token) >= config.vocabSize {
                throw ForwardError.tokenOutOfRange(sequence: s, token: token, vocabSize: config.vocabSize)
            }
            guard chunk.cachedLength >= 0 else { throw ForwardError.negativeCachedLength(sequence: s, cachedLength: chunk.cachedLength) }
            // Compared before adding, so a cachedLength near Int.max is this error, not an overflow trap.
            guard chunk.cachedLength <= config.maxPositions - chunk.tokens.count else {
                let (sum, overflow) = chunk.cachedLength.addingReportingOverflow(chunk.tokens.count)
                throw ForwardError.contextExceeded(sequence: s, length: overflow ? Int.max : sum, maxPositions: config.maxPositions)
            }
            let length = chunk.cachedLength + chunk.tokens.count
            let needed = cache.pagesNeeded(forPositions: length)
            if chunk.pages.count < needed {
                throw ForwardError.notEnoughPages(sequence: s, needed: needed, given: chunk.pages.count)
            }
            for page in chunk.pages.prefix(needed) {
                if page < 0 || Int(page) >= cache.pageCount { throw ForwardError.invalidPage(sequence: s, page: page) }
                if !used.insert(page).inserted { throw ForwardError.sharedPage(sequence: s, page: page) }
            }
        }
    }

    /// Rotates every new token's queries and keys, then writes its keys and values into its sequence's pages;
    /// `rows[r]` is the sequence of row `r`. Split over the cores by rows: a transposed key lands in Dh
    /// different cache lines of its page, which the step's weight stream has evicted since the last token, so
    /// at batch 16 the stores wait on ~1,400 × 64 line fills a step, too long for one core alone.
    private func rotateAndStore(
        _ batch: [SequenceChunk], rows: [Int], rowStart: [Int], layer: Int, qkv: UnsafeMutablePointer<Float>,
        scratch: ForwardScratch, cache: KVPagePool
    ) {
        let c = config
        let qkvWidth = c.qkvWidth, half = c.headDim / 2
        let p = cache.pageSize, dh = c.headDim
        let cosTable = scratch.cos.pointer, sinTable = scratch.sin.pointer
        ParallelFor.ranges(count: rows.count, grain: 4) { range in
            for r in range {
                let row = qkv + r * qkvWidth
                let cosRow = cosTable + r * half, sinRow = sinTable + r * half
                RotaryEmbedding.rotate(row, heads: c.headCount, dim: dh, cos: cosRow, sin: sinRow)
                RotaryEmbedding.rotate(row + c.queryDim, heads: c.kvHeadCount, dim: dh, cos: cosRow, sin: sinRow)
                let chunk = batch[rows[r]]
                let position = chunk.cachedLength + r - rowStart[rows[r]]
                let page = chunk.pages[position / p], slot = position % p
                for g in 0..<c.kvHeadCount {
                    cache.store(key: row + c.queryDim + g * dh, value: row + c.queryDim + c.kvDim + g * dh,
                                page: page, slot: slot, layer: layer, kvHead: g)
                }
            }
        }
    }
}
