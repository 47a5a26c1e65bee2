import LoraModel
import LoraTokenizer

/// A job's own adapters (`GenerationRequest.loras`): the set it runs under and what it reports.
struct OwnAdapters: Sendable {
    /// The job's use of the cached set; nil for `[]` (the base model, never cached).
    var lease: AdapterSetCache.Lease?
    /// The set (unmerged; `AdapterSet.none` for the base model).
    var set: AdapterSet
    /// The adapters as the job named them, with their scales.
    var descriptions: [AdapterDescription]

    /// The rows of a step are grouped by this: one value per distinct set (0: the base model).
    var group: UInt64 { lease?.serial ?? 0 }
}

/// A validated submission on its way to the engine thread.
struct PreparedJob: Sendable {
    var id: JobID
    var prompt: [Int32]
    var sampling: SamplingParameters
    var stop: StopConditions
    /// New tokens at most, already capped by the context and the cache.
    var maxNewTokens: Int
    /// KV pages reserved at admission: `prompt + maxNewTokens - 1` positions.
    var pages: Int
    var logprobs: Bool
    var sink: JobSink
    var submittedAt: UInt64
    /// The job's own adapters; nil: the global set.
    var own: OwnAdapters?
}

/// A job's state on the engine thread, from submission to its finished event.
struct Job {
    let prepared: PreparedJob
    var sampler: Sampler
    var stopChecker: StopChecker
    /// Its block table, once admitted.
    var pages: [Int32] = []
    var generated: [Int32] = []
    var admittedAt: UInt64?
    var firstTokenAt: UInt64?
    /// The global epoch and adapters it runs under, fixed at admission (a job with its own adapters reports
    /// those and no epoch).
    var epoch: UInt64 = 0
    var adapters: [AdapterDescription] = []

    init(_ prepared: PreparedJob, eosTokenIds: [Int32], tokenizer: Tokenizer?) {
        self.prepared = prepared
        sampler = Sampler(parameters: prepared.sampling, prompt: prepared.prompt)
        stopChecker = StopChecker(stop: prepared.stop, maxNewTokens: prepared.maxNewTokens, eosTokenIds: eosTokenIds, tokenizer: tokenizer)
    }

    var id: JobID { prepared.id }

    /// The tokens a scheduler chunk feeds: a slice of the prompt, or the last generated token.
    func tokens(_ chunk: Scheduler.Chunk) -> [Int32] {
        let p = prepared.prompt
        if chunk.start < p.count { return Array(p[chunk.start..<(chunk.start + chunk.count)]) }
        return generated.last.map { [$0] } ?? []
    }

    /// The summary for its finished event.
    func summary(_ reason: FinishReason, stopString: String?, now: UInt64, currentEpoch: UInt64, currentAdapters: [AdapterDescription]) -> JobSummary {
        func seconds(_ a: UInt64?, _ b: UInt64?) -> Double {
            guard let a, let b, b >= a else { return 0 }
            return Double(b - a) / 1e9
        }
        let started = admittedAt != nil
        return JobSummary(
            finishReason: reason, stopString: stopString, promptTokens: prepared.prompt.count, completionTokens: generated.count,
            queueSeconds: seconds(prepared.submittedAt, admittedAt ?? now),
            prefillSeconds: started ? seconds(admittedAt, firstTokenAt ?? now) : 0,
            decodeSeconds: seconds(firstTokenAt, firstTokenAt == nil ? nil : now),
            globalEpoch: prepared.own != nil ? nil : started ? epoch : currentEpoch,
            adapters: prepared.own?.descriptions ?? (started ? adapters : currentAdapters))
    }
}
