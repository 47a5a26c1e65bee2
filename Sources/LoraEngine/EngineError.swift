import Foundation

/// Every error the engine reports, with a message that says what to do about it.
public enum EngineError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The waiting queue is full.
    case busy(queued: Int, limit: Int)
    /// The prompt plus the tokens it may generate can never fit in the KV cache.
    case promptTooLong(promptTokens: Int, maxNewTokens: Int, neededPositions: Int, cachePositions: Int)
    /// The prompt leaves no room to generate within the model's context.
    case contextExceeded(promptTokens: Int, maxPositions: Int)
    /// A request field is out of range.
    case invalidRequest(String)
    /// A request is larger than a limit of `EngineConfiguration` (`limit`, the field named by the first value);
    /// refused before any tokenizing.
    case requestTooLarge(RequestLimit, size: Int, limit: Int)
    /// A call that waits for the engine thread (the blocking `setLoras`) was made on the engine thread itself,
    /// from a job sink or a setLoras completion, where it could only deadlock; the argument names the call.
    case blockingCallOnEngineThread(String)
    /// A configuration limit is out of range.
    case invalidConfiguration(String)
    /// A text prompt or stop strings were given to an engine without a tokenizer.
    case noTokenizer
    /// setLoras did not finish within its timeout, counted from its arrival; nothing changed. `stillRunning`:
    /// earlier jobs still live at the deadline (0 when the call was still building its set or waiting behind an
    /// earlier call).
    case drainTimeout(stillRunning: Int, timeoutMilliseconds: Int)
    /// The adapter set could not be built; nothing changed.
    case invalidAdapterSet(String)
    /// The commit hook failed; the commit was rolled back and the old set stays active.
    case commitFailed(String)
    /// The engine has shut down.
    case shutDown
    /// The forward pass failed; the jobs in the step were ended.
    case forwardFailed(String)
    /// A job's own adapter set (`GenerationRequest.loras`) does not fit in the adapter set cache beside the sets
    /// queued and running jobs use (`neededBytes` nil: those alone fill it). Nothing was queued.
    case adapterCacheFull(neededBytes: Int?, inUseBytes: Int, limitBytes: Int)

    public var description: String {
        switch self {
        case let .busy(queued, limit):
            return "the engine is busy: \(queued) jobs are already waiting (maxQueuedJobs \(limit)); retry later or raise maxQueuedJobs"
        case let .promptTooLong(prompt, maxNew, needed, cache):
            return "the prompt (\(prompt) tokens) plus up to \(maxNew) new tokens needs \(needed) KV positions, but the cache holds \(cache) (kvCacheTokens); shorten the prompt, lower maxTokens or raise kvCacheTokens"
        case let .contextExceeded(prompt, maxPositions):
            return "the prompt has \(prompt) tokens but the model's context is \(maxPositions) positions, leaving no room to generate; shorten the prompt"
        case let .invalidRequest(message):
            return "invalid request: \(message)"
        case let .requestTooLarge(which, size, limit):
            return "request too large: \(which.counted(size)), more than \(which.rawValue) \(limit); \(which.remedy)"
        case let .blockingCallOnEngineThread(call):
            return "\(call) waits for the engine thread but was called on it (from a job sink or a setLoras completion), where it would deadlock; call the form that takes a completion, or hand the work to another queue"
        case let .invalidConfiguration(message):
            return "invalid engine configuration: \(message)"
        case .noTokenizer:
            return "this engine has no tokenizer: give the prompt as token ids and use stop token ids instead of stop strings"
        case let .drainTimeout(0, timeout):
            return "DrainTimeout: the call was still building its set or waiting behind an earlier setLoras after \(timeout) ms; nothing changed. Retry with a longer timeout"
        case let .drainTimeout(running, timeout):
            return "DrainTimeout: \(running) earlier job(s) were still running after \(timeout) ms; nothing changed. Retry with a longer timeout, or onTimeout \"cancel\" to cancel them"
        case let .invalidAdapterSet(message):
            return "the adapter set cannot be built, nothing changed: \(message)"
        case let .commitFailed(message):
            return "persisting the new adapter set failed, so the commit was rolled back and the old set stays active: \(message)"
        case .shutDown:
            return "the engine has shut down; start a new one"
        case let .forwardFailed(message):
            return "the forward pass failed: \(message)"
        case let .adapterCacheFull(needed, inUse, limit):
            func mib(_ b: Int) -> String { String(format: "%.1f MiB", Double(b) / 1_048_576) }
            if let needed, needed > limit {
                return "the job's adapter set needs \(mib(needed)), more than the whole adapter set cache (adapterCacheBytes \(mib(limit))); raise adapterCacheBytes or name fewer adapters"
            }
            let need = needed.map { ", and this job's set needs \(mib($0)) more" } ?? ""
            return "the adapter set cache is full: the sets of queued and running jobs hold \(mib(inUse)) of \(mib(limit)) (adapterCacheBytes)\(need); retry when jobs finish, or raise adapterCacheBytes"
        }
    }
}
