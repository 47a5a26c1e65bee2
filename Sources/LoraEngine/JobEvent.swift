/// A job's identity: its submission order. Jobs with lower ids were submitted earlier.
public typealias JobID = UInt64

/// Why a job ended.
public enum FinishReason: String, Sendable, Codable, Equatable {
    /// An EOS id, a stop token id or a stop string.
    case stop
    /// `maxNewTokens` or the context length.
    case length
    /// Cancelled by `cancel`, by a `setLoras` with `onTimeout: cancel`, or by shutdown.
    case cancelled
}

/// One active adapter as reported with results.
public struct AdapterDescription: Sendable, Equatable, Codable, Hashable {
    public var name: String
    public var scale: Float
    public init(name: String, scale: Float) {
        self.name = name
        self.scale = scale
    }
}

/// The summary of a finished job.
public struct JobSummary: Sendable, Equatable {
    public var finishReason: FinishReason
    /// The stop string that matched, if one did.
    public var stopString: String?
    public var promptTokens: Int
    public var completionTokens: Int
    /// Submission to admission.
    public var queueSeconds: Double
    /// Admission to the first token.
    public var prefillSeconds: Double
    /// First token to the end.
    public var decodeSeconds: Double
    /// The epoch of the global set the job ran under (the one current when it was submitted, if it never
    /// started); nil for a job that named its own adapters (`GenerationRequest.loras`), which did not depend on
    /// the global set.
    public var globalEpoch: UInt64?
    /// The adapters the job ran under, with their scales: the global set's of `globalEpoch`, or its own.
    public var adapters: [AdapterDescription]

    /// `globalEpoch`, or 0 for a job with its own adapters (kept for callers written before per-job adapters:
    /// read `globalEpoch` to tell the two apart).
    public var epoch: UInt64 { globalEpoch ?? 0 }

    /// Whether the job named its own adapters rather than running under the global set.
    public var ownAdapters: Bool { globalEpoch == nil }
}

/// What a job reports to its sink, in order: `started` (unless cancelled while queued), `tokens` per
/// generated token, then exactly one `finished`.
public enum JobEvent: Sendable, Equatable {
    /// Admitted: its prefill begins under `epoch` (for a job with its own adapters, the global epoch at its
    /// admission, which it does not depend on: its summary's `globalEpoch` is nil).
    case started(JobID, epoch: UInt64)
    /// New tokens and the text that became final with them (whole UTF-8; stop strings withheld);
    /// `logprobs` per token when requested.
    case tokens(JobID, ids: [Int32], text: String, logprobs: [Float]?)
    /// The end.
    case finished(JobID, JobSummary)
}

/// Receives a job's events on the engine thread. It must return quickly and never block (hand the event to
/// a queue if there is real work to do): every job in the batch waits while it runs.
public typealias JobSink = @Sendable (JobEvent) -> Void
