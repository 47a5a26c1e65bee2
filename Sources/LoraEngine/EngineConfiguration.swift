import Foundation
import LoraModel
import LoraNumerics

/// The engine's limits. Every limit is enforced at submission or admission: a job that can never fit is
/// refused with an `EngineError`, one that cannot fit now waits; nothing is silently truncated.
public struct EngineConfiguration: Sendable, Equatable {
    /// Jobs decoded together in one forward pass (running jobs, including those still in prefill).
    public var maxBatchSize: Int
    /// Total KV cache capacity in positions (rounded up to whole pages).
    public var kvCacheTokens: Int
    /// Positions per KV page.
    public var pageSize: Int
    /// Prompt tokens fed per step, across all jobs in prefill, so a long prompt never stalls running jobs
    /// for more than one chunk's worth of compute.
    public var maxChunkTokens: Int
    /// Jobs that may wait for admission at once; more are refused with `EngineError.busy`.
    public var maxQueuedJobs: Int
    /// How `setLoras` applies adapter sets it builds.
    public var loraMode: AdapterSet.Mode
    /// Extra memory `auto` mode may spend on merged weights.
    public var mergeBudgetBytes: Int
    /// How the KV cache stores keys and values: f32 (exact) or f16 (half the memory and attention bytes).
    public var kvCachePrecision: KVCachePrecision
    /// UTF-8 bytes a text prompt may have, checked before it is tokenized; nil: `promptBytesPerPosition` times
    /// the model's context (`maxPromptBytes(maxPositions:)`).
    public var maxPromptBytes: Int?
    /// Stop strings a request may give.
    public var maxStopStrings: Int
    /// UTF-8 bytes each stop string may have.
    public var maxStopStringBytes: Int
    /// Stop token ids a request may give.
    public var maxStopTokenIds: Int
    /// Bytes the adapter sets built for jobs that name their own adapters (`GenerationRequest.loras`) may hold
    /// at once (`AdapterSetCache`): sets no queued or running job uses are evicted, least recently used first,
    /// and a job whose set would not fit beside the sets in use is refused (`EngineError.adapterCacheFull`).
    public var adapterCacheBytes: Int

    /// The format of the A and B panels of sets built for jobs' own adapters: f32 (default: a job's result is
    /// bit for bit that of the same adapters set globally, unmerged), or `.float16`, half the bytes a step reads
    /// per distinct set (with 16 distinct rank-16 sets on a 135M model, ~70% rather than ~63% of the throughput
    /// of one shared set; docs/performance.md) for A and B rounded to f16 (~5e-4 relative; logits move by ~1e-4).
    public var perJobDeltaElement: PanelElement

    /// The default `adapterCacheBytes`: 256 MiB, a dozen rank-16 all-projection sets of a 135M model.
    public static let defaultAdapterCacheBytes = 256 << 20

    /// Bytes of text prompt allowed per position of the model's context when `maxPromptBytes` is nil. Text in
    /// the BPE vocabularies lorad serves averages 3–5 bytes a token (English prose ~4, code ~3, 3-byte scripts
    /// ~1 character a token), so a prompt twice as dense as that still passes, while one that cannot fit the
    /// context however it tokenizes is refused before the tokenizer spends time on it.
    public static let promptBytesPerPosition = 8

    /// A configuration; defaults suit a small model on a laptop-class CPU.
    public init(
        maxBatchSize: Int = 16, kvCacheTokens: Int = 16_384, pageSize: Int = 16, maxChunkTokens: Int = 256,
        maxQueuedJobs: Int = 1024, loraMode: AdapterSet.Mode = .auto, mergeBudgetBytes: Int = 2 << 30,
        kvCachePrecision: KVCachePrecision = .f32, maxPromptBytes: Int? = nil, maxStopStrings: Int = 16,
        maxStopStringBytes: Int = 256, maxStopTokenIds: Int = 1024, adapterCacheBytes: Int = defaultAdapterCacheBytes,
        perJobDeltaElement: PanelElement = .float32
    ) {
        self.perJobDeltaElement = perJobDeltaElement
        self.adapterCacheBytes = adapterCacheBytes
        self.maxBatchSize = maxBatchSize
        self.kvCacheTokens = kvCacheTokens
        self.pageSize = pageSize
        self.maxChunkTokens = maxChunkTokens
        self.maxQueuedJobs = maxQueuedJobs
        self.loraMode = loraMode
        self.mergeBudgetBytes = mergeBudgetBytes
        self.kvCachePrecision = kvCachePrecision
        self.maxPromptBytes = maxPromptBytes
        self.maxStopStrings = maxStopStrings
        self.maxStopStringBytes = maxStopStringBytes
        self.maxStopTokenIds = maxStopTokenIds
    }

    /// The text prompt limit in force for a model with a context of `maxPositions`: `maxPromptBytes`, or
    /// `promptBytesPerPosition × maxPositions` (saturating).
    public func maxPromptBytes(maxPositions: Int) -> Int {
        if let maxPromptBytes { return maxPromptBytes }
        let (bytes, overflow) = maxPositions.multipliedReportingOverflow(by: Self.promptBytesPerPosition)
        return overflow ? .max : bytes
    }

    /// Pages in the KV pool: kvCacheTokens / pageSize rounded up (`KVPagePool.pagesNeeded`), at least 1.
    public var pageCount: Int { max(1, KVPagePool.pagesNeeded(positions: kvCacheTokens, pageSize: pageSize)) }

    /// Throws `EngineError.invalidConfiguration` naming the first limit that is not positive.
    public func validate() throws {
        let limits: [(String, Int)] = [
            ("maxBatchSize", maxBatchSize), ("kvCacheTokens", kvCacheTokens), ("pageSize", pageSize),
            ("maxChunkTokens", maxChunkTokens), ("maxQueuedJobs", maxQueuedJobs), ("maxPromptBytes", maxPromptBytes ?? 1),
            ("maxStopStrings", maxStopStrings), ("maxStopStringBytes", maxStopStringBytes), ("maxStopTokenIds", maxStopTokenIds),
            ("adapterCacheBytes", adapterCacheBytes),
        ]
        for (name, value) in limits where value <= 0 {
            throw EngineError.invalidConfiguration("\(name) must be a positive integer, got \(value)")
        }
        // Page ids are 32-bit: a pool past that is refused here rather than trapping when it is made.
        if pageCount > KVPagePool.maxPageCount {
            throw EngineError.invalidConfiguration(
                "kvCacheTokens \(kvCacheTokens) in pages of \(pageSize) makes \(pageCount) KV pages, more than \(KVPagePool.maxPageCount); lower kvCacheTokens or raise pageSize")
        }
    }

    /// Bytes the KV cache takes for `model`, or nil when the product overflows.
    public func kvCacheBytes(for model: LlamaConfig) -> Int? {
        KVPagePool.byteCount(config: model, pageSize: pageSize, pageCount: pageCount, precision: kvCachePrecision)
    }

    /// Refuses a KV cache larger than the machine's memory before anything is allocated.
    public func validate(for model: LlamaConfig) throws {
        let physical = ProcessInfo.processInfo.physicalMemory
        guard let bytes = kvCacheBytes(for: model), UInt64(bytes) < physical else {
            throw EngineError.invalidConfiguration(
                "kvCacheTokens \(kvCacheTokens) needs \(kvCacheBytes(for: model).map { "\($0 >> 20) MiB" } ?? "more than 2^63 bytes") of KV cache for this model, more than the machine's \(physical >> 20) MiB; lower kvCacheTokens")
        }
    }
}
