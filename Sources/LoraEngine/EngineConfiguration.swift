import Foundation
import LoraModel

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

    /// A configuration; defaults suit a small model on a laptop-class CPU.
    public init(
        maxBatchSize: Int = 16, kvCacheTokens: Int = 16_384, pageSize: Int = 16, maxChunkTokens: Int = 256,
        maxQueuedJobs: Int = 1024, loraMode: AdapterSet.Mode = .auto, mergeBudgetBytes: Int = 2 << 30,
        kvCachePrecision: KVCachePrecision = .f32
    ) {
        self.maxBatchSize = maxBatchSize
        self.kvCacheTokens = kvCacheTokens
        self.pageSize = pageSize
        self.maxChunkTokens = maxChunkTokens
        self.maxQueuedJobs = maxQueuedJobs
        self.loraMode = loraMode
        self.mergeBudgetBytes = mergeBudgetBytes
        self.kvCachePrecision = kvCachePrecision
    }

    /// Pages in the KV pool.
    public var pageCount: Int { max(1, pagesRoundedUp) }

    /// kvCacheTokens / pageSize rounded up, without the `+ pageSize - 1` that overflows near Int.max.
    private var pagesRoundedUp: Int { kvCacheTokens / pageSize + (kvCacheTokens % pageSize > 0 ? 1 : 0) }

    /// Throws `EngineError.invalidConfiguration` naming the first limit that is not positive.
    public func validate() throws {
        let limits: [(String, Int)] = [
            ("maxBatchSize", maxBatchSize), ("kvCacheTokens", kvCacheTokens), ("pageSize", pageSize),
            ("maxChunkTokens", maxChunkTokens), ("maxQueuedJobs", maxQueuedJobs),
        ]
        for (name, value) in limits where value <= 0 {
            throw EngineError.invalidConfiguration("\(name) must be a positive integer, got \(value)")
        }
    }

    /// Bytes the KV cache takes for `model`, or nil when the product overflows.
    public func kvCacheBytes(for model: LlamaConfig) -> Int? {
        KVPagePool.byteCount(config: model, pageSize: pageSize, pageCount: pagesRoundedUp, precision: kvCachePrecision)
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
