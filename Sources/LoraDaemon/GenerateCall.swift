import LoraEngine
import LoraJSON
import Synchronization

/// One `generate` call in flight: turns its job's events (delivered on the engine thread) into the call's
/// answer. Streaming: the reply `{jobId}` first, then `generate.delta` notifications, then `generate.done`;
/// otherwise one reply when the job ends. Events that arrive before `submitted(_:)` are held back, so the
/// `{jobId}` reply always comes first. Never blocks: the RPC layer queues what it is given.
final class GenerateCall: Sendable {
    private struct State: Sendable {
        var jobID: JobID?
        var held: [JobEvent] = []
        var text = ""
        var tokens: [Int32] = []
        var logprobs: [Float] = []
        var finished = false
    }

    private let context: any CallContext
    private let stream: Bool
    private let wantsLogprobs: Bool
    private let tracker: JobTracker
    private let cancel: @Sendable (JobID) -> Void
    private let state = Mutex(State())

    init(context: any CallContext, stream: Bool, logprobs: Bool, tracker: JobTracker, cancel: @escaping @Sendable (JobID) -> Void) {
        self.context = context
        self.stream = stream
        self.wantsLogprobs = logprobs
        self.tracker = tracker
        self.cancel = cancel
    }

    /// The engine accepted the job as `id`: track it, answer a streaming call, and release held events.
    func submitted(_ id: JobID, entry: JobTracker.Entry) {
        state.withLock { s in
            s.jobID = id
            // Added even when the job already ended: replaying its held `finished` removes it again.
            tracker.add(entry)
            if stream {
                // Its notifications follow the reply: a client that half-closed still gets them.
                context.holdConnection()
                _ = context.reply(.success(["jobId": .uint64(id)]))
            }
            let held = s.held
            s.held = []
            for event in held { handle(event, &s) }
        }
    }

    /// The job's sink (engine thread).
    func receive(_ event: JobEvent) {
        state.withLock { s in
            if s.jobID == nil {
                s.held.append(event)
                if case .finished = event { s.finished = true }
                return
            }
            handle(event, &s)
        }
    }

    private func handle(_ event: JobEvent, _ s: inout State) {
        switch event {
        case let .started(id, epoch):
            tracker.started(id, epoch: epoch)
        case let .tokens(id, ids, text, logprobs):
            tracker.generated(id, count: ids.count)
            if stream {
                var params: [(String, JSONValue)] = [("jobId", .uint64(id)), ("text", .string(text)), ("tokens", .array(ids.map { .int(Int($0)) }))]
                if wantsLogprobs, let logprobs { params.append(("logprobs", .array(logprobs.map { .float($0) }))) }
                // A connection that cannot take more is being closed; its jobs must not run on for nobody.
                if !context.notify("generate.delta", .object(params)) { cancel(id) }
            } else {
                s.text += text
                s.tokens += ids
                if let logprobs { s.logprobs += logprobs }
            }
        case let .finished(id, summary):
            s.finished = true
            tracker.finished(id)
            let result = Self.result(id: id, summary: summary, text: stream ? nil : s.text, tokens: stream ? nil : s.tokens,
                                     logprobs: wantsLogprobs && !stream ? s.logprobs : nil)
            if stream {
                _ = context.notify("generate.done", result)
                context.releaseConnection()
            } else {
                context.reply(.success(result))
            }
        }
    }

    /// The fields of a finished job, as the non-streaming reply and `generate.done` carry them.
    static func result(id: JobID, summary: JobSummary, text: String?, tokens: [Int32]?, logprobs: [Float]?) -> JSONValue {
        var fields: [(String, JSONValue)] = [("jobId", .uint64(id))]
        if let text { fields.append(("text", .string(text))) }
        if let tokens { fields.append(("tokens", .array(tokens.map { .int(Int($0)) }))) }
        if let logprobs { fields.append(("logprobs", .array(logprobs.map { .float($0) }))) }
        fields.append(("finishReason", .string(summary.finishReason.rawValue)))
        if let stop = summary.stopString { fields.append(("stopString", .string(stop))) }
        fields.append(("usage", ["promptTokens": .int(summary.promptTokens), "completionTokens": .int(summary.completionTokens)]))
        // A job with its own adapters reports them, and no epoch: it did not run under the global set.
        fields.append(("loras", LorasView.json(epoch: summary.globalEpoch, adapters: summary.adapters)))
        let tokensPerSecond = summary.decodeSeconds > 0 ? Double(max(0, summary.completionTokens - 1)) / summary.decodeSeconds : 0
        fields.append(("timing", [
            "queueMs": .double((summary.queueSeconds * 1000).rounded(toPlaces: 3)),
            "prefillMs": .double((summary.prefillSeconds * 1000).rounded(toPlaces: 3)),
            "decodeMs": .double((summary.decodeSeconds * 1000).rounded(toPlaces: 3)),
            "tokensPerSecond": .double(tokensPerSecond.rounded(toPlaces: 1)),
        ]))
        return .object(fields)
    }
}

/// How an adapter set is shown: `{epoch, adapters: [{name, scale}]}`; a job's own set has no epoch.
enum LorasView {
    static func json(epoch: UInt64?, adapters: [AdapterDescription]) -> JSONValue {
        let list: JSONValue = .array(adapters.map { ["name": .string($0.name), "scale": .float($0.scale)] })
        guard let epoch else { return ["adapters": list] }
        return ["epoch": .uint64(epoch), "adapters": list]
    }
}

extension JSONValue {
    /// A `Float` written with its own shortest digits (`0.1`, not `0.10000000149011612`).
    static func float(_ value: Float) -> JSONValue {
        guard value.isFinite else { return .null }
        return .double(Double(String(value)) ?? Double(value))
    }
}
