import Foundation
import LoraModel
import LoraModelTestSupport
import LoraNumerics
import Testing

/// The fast forward pass against the naive reference, and against itself: cached vs recomputed, batched vs
/// alone, chunked prefill vs one chunk.
struct ForwardConsistencyTests {
    static let config = LlamaConfig(
        hiddenSize: 32, intermediateSize: 40, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 8,
        vocabSize: 50, maxPositions: 128, tieWordEmbeddings: false, ropeTheta: 10_000)

    static func tokens(_ n: Int, seed: Int) -> [Int32] { (0..<n).map { Int32(($0 * 7 + seed * 13 + 3) % 50) } }

    /// Runs chunks of one sequence; returns the logits of every position fed.
    static func run(_ model: LlamaModel, _ tokens: [Int32], chunks: [Int], pageSize: Int = 4) throws -> [[Float]] {
        let cache = KVPagePool(config: model.config, pageSize: pageSize, tokens: tokens.count)
        let pages = try #require(cache.allocate(cache.pagesNeeded(forPositions: tokens.count)))
        let scratch = ForwardScratch()
        var out: [[Float]] = []
        var start = 0
        for size in chunks {
            let logits = try model.forward(
                [SequenceChunk(tokens: Array(tokens[start..<(start + size)]), pages: pages, cachedLength: start, logits: .all)],
                cache: cache, scratch: scratch)
            for r in 0..<logits.rows { out.append(Array(UnsafeBufferPointer(start: logits.row(r), count: logits.cols))) }
            start += size
        }
        return out
    }

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? .infinity
    }

    @Test(arguments: [1, 5, 12, 80])
    func matchesNaiveReference(promptLength: Int) throws {
        // Lengths below and above the gather threshold exercise both attention paths.
        let model = try LlamaModel(randomWeights: Self.config, seed: 11)
        let tokens = Self.tokens(promptLength, seed: 1)
        let fast = try Self.run(model, tokens, chunks: [promptLength])
        let naive = NaiveLlama(model: model).logits(tokens)
        var worst = 0.0
        for (f, n) in zip(fast, naive) { for (a, b) in zip(f, n) { worst = max(worst, abs(Double(a) - b)) } }
        #expect(worst < 1e-4, "largest difference to the naive reference: \(worst)")
    }

    /// Decode attention takes a kv head's query heads three at a time, a group of four as two and two: groups of
    /// 3, 4 and 1, with SmolLM2's head size halved, decoded token by token across a segment boundary, against the
    /// naive reference.
    @Test(arguments: [(6, 2), (8, 2), (3, 3)])
    func groupedQueryDecodingMatchesNaiveReference(heads: Int, kvHeads: Int) throws {
        let config = LlamaConfig(
            hiddenSize: 32 * heads, intermediateSize: 40, layerCount: 2, headCount: heads, kvHeadCount: kvHeads, headDim: 32,
            vocabSize: 50, maxPositions: 128, tieWordEmbeddings: false, ropeTheta: 10_000)
        let model = try LlamaModel(randomWeights: config, seed: 19)
        let tokens = Self.tokens(40, seed: 9)
        let decoded = try Self.run(model, tokens, chunks: [3] + Array(repeating: 1, count: 37))
        let naive = NaiveLlama(model: model).logits(tokens)
        var worst = 0.0
        for (f, n) in zip(decoded, naive) { for (a, b) in zip(f, n) { worst = max(worst, abs(Double(a) - b)) } }
        #expect(worst < 1e-4, "largest difference to the naive reference: \(worst)")
    }

    @Test func incrementalDecodingEqualsRecomputation() throws {
        let model = try LlamaModel(randomWeights: Self.config, seed: 12)
        let tokens = Self.tokens(20, seed: 2)
        let whole = try Self.run(model, tokens, chunks: [20])
        let incremental = try Self.run(model, tokens, chunks: Array(repeating: 1, count: 20))
        let chunked = try Self.run(model, tokens, chunks: [9, 3, 8])
        #expect(Self.maxDifference(whole, incremental) < 1e-5)
        #expect(Self.maxDifference(whole, chunked) < 1e-5)
        // Past one attention query block (64 rows), and chunks that start mid-block.
        let long = Self.tokens(110, seed: 7)
        let longWhole = try Self.run(model, long, chunks: [110])
        #expect(Self.maxDifference(longWhole, try Self.run(model, long, chunks: [70, 1, 39])) < 1e-5)
        // Decode steps on both sides of decode-attention segment boundaries (every 32 positions), one to four
        // segments joined, and short chunks whose tokens straddle a boundary (they see different segments).
        let acrossSegments = [30, 4] + Array(repeating: 1, count: 6) + [22, 3] + Array(repeating: 1, count: 45)
        #expect(Self.maxDifference(longWhole, try Self.run(model, long, chunks: acrossSegments)) < 1e-5)
    }

    @Test func batchedSequencesEqualSequencesAlone() throws {
        let model = try LlamaModel(randomWeights: Self.config, seed: 13)
        let prompts = [Self.tokens(3, seed: 3), Self.tokens(17, seed: 4), Self.tokens(1, seed: 5), Self.tokens(9, seed: 6)]
        let alone = try prompts.map { try Self.run(model, $0, chunks: [$0.count]).last! }

        let cache = KVPagePool(config: model.config, pageSize: 4, tokens: 64)
        let pages = try prompts.map { try #require(cache.allocate(cache.pagesNeeded(forPositions: $0.count + 1))) }
        let scratch = ForwardScratch()
        let batch = zip(prompts, pages).map { SequenceChunk(tokens: $0, pages: $1, cachedLength: 0, logits: .last) }
        let logits = try model.forward(batch, cache: cache, scratch: scratch)
        #expect(logits.rows == prompts.count)
        for s in 0..<prompts.count {
            let row = Array(UnsafeBufferPointer(start: logits.row(s), count: logits.cols))
            #expect(Self.maxDifference([row], [alone[s]]) < 1e-5, "sequence \(s) differs when batched")
        }
        // A decode step for all of them at once, mixed with a new prefill, still matches running alone.
        let next: [Int32] = [4, 9, 14, 19]
        let decode = (0..<prompts.count).map { SequenceChunk(tokens: [next[$0]], pages: pages[$0], cachedLength: prompts[$0].count) }
        let stepped = try model.forward(decode, cache: cache, scratch: scratch)
        for s in 0..<prompts.count {
            let expected = try Self.run(model, prompts[s] + [next[s]], chunks: [prompts[s].count + 1]).last!
            let row = Array(UnsafeBufferPointer(start: stepped.row(s), count: stepped.cols))
            #expect(Self.maxDifference([row], [expected]) < 1e-5, "decode step of sequence \(s) differs when batched")
        }
    }

    /// Decode attention splits each sequence's positions into segments and hands (sequence, segment) items to the
    /// cores as they free up; a sequence's result must still be, bit for bit, what its decode step alone gives,
    /// with 2 or 4 sequences per core and lengths of one to three segments.
    @Test(arguments: [2, 4])
    func decodeAttentionDoesNotDependOnTheBatch(sequencesPerCore: Int) throws {
        let model = try LlamaModel(randomWeights: Self.config, seed: 17)
        let count = sequencesPerCore * ParallelFor.workerCount
        let prompts = (0..<count).map { Self.tokens(3 + ($0 * 29) % 90, seed: 20 + $0) }
        let cache = KVPagePool(config: model.config, pageSize: 4, tokens: 2 * prompts.reduce(0) { $0 + $1.count + 4 })
        let scratch = ForwardScratch()
        func prefilled() throws -> [[Int32]] {
            try prompts.map { prompt in
                let pages = try #require(cache.allocate(cache.pagesNeeded(forPositions: prompt.count + 1)))
                _ = try model.forward([SequenceChunk(tokens: prompt, pages: pages, cachedLength: 0, logits: .none)], cache: cache, scratch: scratch)
                return pages
            }
        }
        let batchedPages = try prefilled(), alonePages = try prefilled()
        let next = (0..<count).map { Int32(($0 * 11 + 1) % 50) }
        let stepped = try model.forward(
            (0..<count).map { SequenceChunk(tokens: [next[$0]], pages: batchedPages[$0], cachedLength: prompts[$0].count) },
            cache: cache, scratch: scratch)
        for s in 0..<count {
            let batchedRow = Array(UnsafeBufferPointer(start: stepped.row(s), count: stepped.cols))
            let alone = try model.forward([SequenceChunk(tokens: [next[s]], pages: alonePages[s], cachedLength: prompts[s].count)],
                                          cache: cache, scratch: scratch)
            #expect(batchedRow == Array(UnsafeBufferPointer(start: alone.row(0), count: alone.cols)), "sequence \(s) of \(count)")
        }
    }

    @Test func greedyDecodingRefusesACacheLargerThanMemory() throws {
        // A context of 2^50 positions allows a step count whose cache no machine holds: an error before allocating.
        var config = Self.config
        config.maxPositions = 1 << 50
        let model = try LlamaModel(randomWeights: config, seed: 18)
        #expect { try GreedyDecoder(model: model).run(prompt: [1], steps: 1 << 45) } throws: { error in
            guard case ForwardError.cacheTooLarge(let positions, let bytes, _) = error else { return false }
            return positions == (1 << 45) + 1 && bytes != nil && "\(error)".contains("ask for fewer steps")
        }
        #expect(try GreedyDecoder(model: model).run(prompt: [1], steps: 2).steps.count == 2)
    }

    @Test func emptyChunksGiveNoLogitRows() throws {
        // An empty chunk asking for its last logits has none; the rows of the other chunks stay theirs.
        let model = try LlamaModel(randomWeights: Self.config, seed: 15)
        let a = Self.tokens(5, seed: 7), b = Self.tokens(2, seed: 8)
        let cache = KVPagePool(config: model.config, pageSize: 4, tokens: 32)
        let pa = try #require(cache.allocate(2)), pb = try #require(cache.allocate(1)), pe = try #require(cache.allocate(1))
        let batch = [
            SequenceChunk(tokens: [], pages: pe, cachedLength: 0, logits: .last),
            SequenceChunk(tokens: a, pages: pa, cachedLength: 0, logits: .last),
            SequenceChunk(tokens: [], pages: pe, cachedLength: 0, logits: .all),
            SequenceChunk(tokens: b, pages: pb, cachedLength: 0, logits: .last),
        ]
        let logits = try model.forward(batch, cache: cache, scratch: ForwardScratch())
        #expect(logits.rows == 2)
        for (row, prompt) in [a, b].enumerated() {
            let alone = try Self.run(model, prompt, chunks: [prompt.count]).last!
            #expect(Self.maxDifference([Array(UnsafeBufferPointer(start: logits.row(row), count: logits.cols))], [alone]) < 1e-5)
        }
        #expect(throws: ForwardError.emptyPrompt) { try GreedyDecoder(model: model).run(prompt: [], steps: 1) }
    }

    @Test func invalidChunksAreRefusedBeforeComputing() throws {
        let model = try LlamaModel(randomWeights: Self.config, seed: 14)
        let cache = try KVPagePool(config: model.config, pageSize: 4, pageCount: 2)
        let scratch = ForwardScratch()
        #expect(throws: ForwardError.tokenOutOfRange(sequence: 0, token: 50, vocabSize: 50)) {
            try model.forward([SequenceChunk(tokens: [50], pages: [0], cachedLength: 0)], cache: cache, scratch: scratch)
        }
        #expect(throws: ForwardError.notEnoughPages(sequence: 0, needed: 2, given: 1)) {
            try model.forward([SequenceChunk(tokens: [1, 2, 3, 4, 5], pages: [0], cachedLength: 0)], cache: cache, scratch: scratch)
        }
        #expect(throws: ForwardError.invalidPage(sequence: 0, page: 7)) {
            try model.forward([SequenceChunk(tokens: [1], pages: [7], cachedLength: 0)], cache: cache, scratch: scratch)
        }
        #expect(throws: ForwardError.contextExceeded(sequence: 0, length: 129, maxPositions: 128)) {
            try model.forward([SequenceChunk(tokens: [1], pages: [0], cachedLength: 128)], cache: cache, scratch: scratch)
        }
        // Each of these trapped (an overflow, a negative index) or wrote one sequence's keys over another's.
        #expect(throws: ForwardError.negativeCachedLength(sequence: 0, cachedLength: -1)) {
            try model.forward([SequenceChunk(tokens: [1], pages: [0], cachedLength: -1)], cache: cache, scratch: scratch)
        }
        #expect(throws: ForwardError.contextExceeded(sequence: 0, length: Int.max, maxPositions: 128)) {
            try model.forward([SequenceChunk(tokens: [1, 2], pages: [0], cachedLength: Int.max)], cache: cache, scratch: scratch)
        }
        #expect(throws: ForwardError.sharedPage(sequence: 1, page: 0)) {
            try model.forward([SequenceChunk(tokens: [1], pages: [0], cachedLength: 0), SequenceChunk(tokens: [2], pages: [0], cachedLength: 0)],
                              cache: cache, scratch: scratch)
        }
        #expect(throws: ForwardError.sharedPage(sequence: 0, page: 1)) {
            try model.forward([SequenceChunk(tokens: [1, 2, 3, 4, 5], pages: [1, 1], cachedLength: 0)], cache: cache, scratch: scratch)
        }
    }

    @Test func poolSizesOutOfRangeAreErrors() {
        #expect(throws: KVPagePoolError.invalidPageCount(KVPagePool.maxPageCount + 1)) {
            try KVPagePool(config: Self.config, pageSize: 1, pageCount: KVPagePool.maxPageCount + 1)
        }
        #expect(throws: KVPagePoolError.invalidPageCount(0)) { try KVPagePool(config: Self.config, pageSize: 1, pageCount: 0) }
        #expect(throws: KVPagePoolError.invalidPageSize(0)) { try KVPagePool(config: Self.config, pageSize: 0, pageCount: 1) }
        #expect(throws: KVPagePoolError.tooLarge(pageSize: Int.max / 4, pageCount: 8)) {
            try KVPagePool(config: Self.config, pageSize: Int.max / 4, pageCount: 8)
        }
        #expect(KVPagePool.pagesNeeded(positions: Int.max, pageSize: 16) == Int.max / 16 + 1, "rounds up without overflowing")
        #expect(KVPagePool.pagesNeeded(positions: 32, pageSize: 16) == 2)
        #expect(KVPagePool.pagesNeeded(positions: 33, pageSize: 16) == 3)
        #expect(KVPagePool.pagesNeeded(positions: 0, pageSize: 16) == 0)
    }

    @Test func pagePoolAllocatesAndReleases() {
        let cache = KVPagePool(config: Self.config, pageSize: 16, tokens: 100)
        #expect(cache.pageCount == 7)
        let a = cache.allocate(5)
        #expect(a?.count == 5 && cache.freePageCount == 2)
        #expect(cache.allocate(3) == nil && cache.freePageCount == 2, "a failed allocation takes nothing")
        cache.release(a ?? [])
        #expect(cache.freePageCount == 7)
    }
}
