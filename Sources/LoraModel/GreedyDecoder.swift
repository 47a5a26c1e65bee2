import Foundation
import LoraNumerics

/// Runs one prompt through a model and decodes greedily, one token per forward pass through the KV cache:
/// the path `lorad eval` and the reference tests use.
public struct GreedyDecoder {
    /// One decoding step.
    public struct Step: Sendable, Equatable, Codable {
        /// The chosen (arg-max) token.
        public var token: Int
        /// log-softmax of the chosen token.
        public var logprob: Float
        /// Top-1 minus top-2 logit.
        public var margin: Float
    }

    /// What a run produced.
    public struct Result: Sendable {
        /// Logits of the last prompt position (V).
        public var promptLogits: [Float]
        /// The greedy steps.
        public var steps: [Step]
    }

    /// The model to run.
    public let model: LlamaModel
    /// Active adapters, if any.
    public let adapters: (any ProjectionAdapter)?
    /// KV page size.
    public var pageSize = 16
    /// How the KV cache stores keys and values.
    public var kvCachePrecision = KVCachePrecision.f32

    /// A decoder for `model` with optional `adapters`.
    public init(model: LlamaModel, adapters: (any ProjectionAdapter)? = nil) {
        self.model = model
        self.adapters = adapters
    }

    /// Feeds `prompt` (one chunk, or chunks of `chunkSize`) then decodes `steps` greedy tokens.
    public func run(prompt: [Int32], steps: Int, chunkSize: Int? = nil) throws -> Result {
        guard !prompt.isEmpty else { throw ForwardError.emptyPrompt }
        // Checked before the cache is sized, so an absurd step count is an error rather than a huge allocation,
        // and before adding, so a step count near Int.max is that error rather than an overflow trap.
        guard steps <= model.config.maxPositions - prompt.count else {
            let (sum, overflow) = prompt.count.addingReportingOverflow(steps)
            throw ForwardError.contextExceeded(sequence: 0, length: overflow ? Int.max : sum, maxPositions: model.config.maxPositions)
        }
        let length = prompt.count + steps
        // A long-context model allows lengths whose cache the machine cannot hold: an error, not an OOM kill.
        let pageCount = max(1, KVPagePool.pagesNeeded(positions: length, pageSize: pageSize))
        let bytes = KVPagePool.byteCount(config: model.config, pageSize: pageSize, pageCount: pageCount, precision: kvCachePrecision)
        let physical = ProcessInfo.processInfo.physicalMemory
        guard let bytes, UInt64(bytes) < physical else {
            throw ForwardError.cacheTooLarge(positions: length, bytes: bytes, physicalMemory: physical)
        }
        let cache = try KVPagePool(config: model.config, pageSize: pageSize, pageCount: pageCount, precision: kvCachePrecision)
        guard let pages = cache.allocate(pageCount) else {
            throw ForwardError.notEnoughPages(sequence: 0, needed: pageCount, given: cache.pageCount)
        }
        let scratch = ForwardScratch()
        var cached = 0
        var logits = Matrix(rows: 0, cols: model.config.vocabSize)
        let chunk = max(1, chunkSize ?? prompt.count)
        while cached < prompt.count {
            let end = min(prompt.count, cached + chunk)
            let isLast = end == prompt.count
            logits = try model.forward(
                [SequenceChunk(tokens: Array(prompt[cached..<end]), pages: pages, cachedLength: cached, logits: isLast ? .last : .none)],
                cache: cache, scratch: scratch, adapters: adapters)
            cached = end
        }
        let promptLogits = Array(UnsafeBufferPointer(start: logits.pointer, count: model.config.vocabSize))
        var result: [Step] = []
        for i in 0..<steps {
            let step = Self.choose(logits.pointer, count: model.config.vocabSize)
            result.append(step)
            if i + 1 == steps { break }
            logits = try model.forward(
                [SequenceChunk(tokens: [Int32(step.token)], pages: pages, cachedLength: cached, logits: .last)],
                cache: cache, scratch: scratch, adapters: adapters)
            cached += 1
        }
        return Result(promptLogits: promptLogits, steps: result)
    }

    /// The greedy choice over one row of logits (`Argmax`: lowest id wins a tie, as torch.argmax does; a NaN is
    /// never chosen over a number).
    public static func choose(_ logits: UnsafePointer<Float>, count: Int) -> Step {
        let row = UnsafeBufferPointer(start: logits, count: count)
        let best = Argmax.index(row)
        let margin = Argmax.runnerUp(row, excluding: best).map { logits[best] - logits[$0] } ?? .infinity
        return Step(token: best, logprob: Softmax.logProbability(of: best, in: logits, count), margin: margin)
    }
}
