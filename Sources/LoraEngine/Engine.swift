import Dispatch
import Foundation
import Logging
import LoraModel
import LoraTokenizer
import Synchronization

/// The dynamic batched generator: many jobs share one forward pass per step, and the active adapter set
/// changes only through `setLoras`, a transaction that never lets a job run under two sets (DESIGN.md §3, §4).
///
/// One engine thread runs the steps. `submit`, `cancel`, `status` and `setLoras` are safe from any thread;
/// they hand a control operation to the engine thread under a short lock and never wait for a forward pass
/// (`setLoras` itself waits for its drain, by design). Call `shutdown()` to stop the thread.
public final class Engine: Sendable {
    /// Control operations, applied by the engine thread at the start of a step, in order.
    enum ControlOp: Sendable {
        case submit(PreparedJob)
        case cancel(JobID)
        case setLoras(SetLorasOperation)
        case shutdown
    }

    /// A setLoras call with its set already built.
    struct SetLorasOperation: Sendable {
        var request: DrainBarrier.Request
        var set: AdapterSet
        var completion: @Sendable (Result<SetLorasResult, any Error>) -> Void
    }

    /// A built set waiting for its turn to install its barrier.
    struct PendingSetLoras: Sendable {
        var set: AdapterSet
        var timeoutNanos: UInt64?
        var onTimeout: OnTimeout
        var completion: @Sendable (Result<SetLorasResult, any Error>) -> Void
    }

    struct ControlState: Sendable {
        var ops: [ControlOp] = []
        var nextJobID: JobID = 1
        var nextRequestID: UInt64 = 1
        /// setLoras calls are numbered as they arrive and installed in that order, whichever finishes
        /// building its set first: the next number to hand out and the next to install.
        var nextTicket: UInt64 = 1
        var nextTicketToInstall: UInt64 = 1
        /// Calls done building whose turn has not come; nil for one whose build failed (nothing to install).
        var builtSets: [UInt64: PendingSetLoras?] = [:]
        /// Submitted jobs not yet admitted or ended (the busy limit).
        var unadmitted = 0
        /// Submitted jobs without a finished event yet.
        var live: Set<JobID> = []
        var status = EngineStatus()
        var shutDown = false
    }

    public let model: LlamaModel
    public let tokenizer: Tokenizer?
    public let configuration: EngineConfiguration
    /// Sampling for requests that give none (from generation_config.json, see `GenerationDefaults`).
    public let defaultSampling: SamplingParameters
    let logger: Logger
    let commitHook: CommitHook?
    let eosTokenIds: [Int32]
    let control: Mutex<ControlState>
    /// Signalled for every control operation; the idle engine thread waits on it.
    let wake = DispatchSemaphore(value: 0)
    /// Signalled once when the engine thread exits.
    let exited = DispatchSemaphore(value: 0)

    /// Starts an engine serving `model` with `adapters` as epoch 0.
    public init(
        model: LlamaModel, tokenizer: Tokenizer?, configuration: EngineConfiguration = EngineConfiguration(),
        adapters: AdapterSet = .none, defaultSampling: SamplingParameters = .greedy,
        logger: Logger = Logger(label: "lorad.engine"), commitHook: CommitHook? = nil
    ) throws {
        try configuration.validate()
        try configuration.validate(for: model.config)
        try defaultSampling.validate()
        self.model = model
        self.tokenizer = tokenizer
        self.configuration = configuration
        self.defaultSampling = defaultSampling
        self.logger = logger
        self.commitHook = commitHook
        // `LlamaConfig.validate` keeps these below vocab_size, which fits 32 bits.
        let modelEos = model.config.eosTokenIds.map { Int32($0) }
        eosTokenIds = modelEos.isEmpty ? (tokenizer?.eosTokenIds ?? []) : modelEos
        var state = ControlState()
        state.status.totalKVPages = configuration.pageCount
        state.status.freeKVPages = configuration.pageCount
        state.status.adapters = adapters.descriptions
        control = Mutex(state)
        let thread = Thread { [self] in
            let loop = EngineLoop(engine: self, adapters: adapters)
            loop.run()
            exited.signal()
        }
        thread.name = "lorad-engine"
        thread.start()
    }

    /// The latest snapshot.
    public func status() -> EngineStatus {
        control.withLock { state in
            var status = state.status
            // Calls that arrived but are still building their set, or waiting for an earlier one to finish
            // building, hold a ticket not yet installed.
            status.pendingSetLoras += Int(state.nextTicket - state.nextTicketToInstall)
            return status
        }
    }

    /// Validates and queues a job; its events go to `sink` on the engine thread (see `JobSink`). Throws
    /// `EngineError` when the request is invalid, can never fit (`promptTooLong`, `contextExceeded`), or the
    /// queue is full (`busy`); nothing is queued then.
    @discardableResult
    public func submit(_ request: GenerationRequest, sink: @escaping JobSink) throws -> JobID {
        let sampling = request.sampling ?? defaultSampling
        try sampling.validate()
        let prompt = try promptIds(request.prompt)
        if !request.stop.stopStrings.isEmpty && tokenizer == nil { throw EngineError.noTokenizer }
        let (maxNew, pages) = try reservation(promptLength: prompt.count, maxNewTokens: request.stop.maxNewTokens)
        let now = DispatchTime.now().uptimeNanoseconds
        let id = try control.withLock { state -> JobID in
            if state.shutDown { throw EngineError.shutDown }
            guard state.unadmitted < configuration.maxQueuedJobs else {
                throw EngineError.busy(queued: state.unadmitted, limit: configuration.maxQueuedJobs)
            }
            let id = state.nextJobID
            state.nextJobID += 1
            state.unadmitted += 1
            state.live.insert(id)
            state.ops.append(.submit(PreparedJob(
                id: id, prompt: prompt, sampling: sampling, stop: request.stop, maxNewTokens: maxNew, pages: pages,
                logprobs: request.logprobs, sink: sink, submittedAt: now)))
            return id
        }
        wake.signal()
        return id
    }

    /// Cancels a queued or running job: it ends with `cancelled` and its pages are freed. Returns false when
    /// no such job is live (unknown, or already finished).
    @discardableResult
    public func cancel(_ id: JobID) -> Bool {
        let live = control.withLock { state -> Bool in
            guard state.live.contains(id), !state.shutDown else { return false }
            state.ops.append(.cancel(id))
            return true
        }
        if live { wake.signal() }
        return live
    }

    /// Cancels every job and pending setLoras, then stops the engine thread and waits for it.
    public func shutdown() {
        let first = control.withLock { state -> Bool in
            defer { state.shutDown = true }
            if !state.shutDown { state.ops.append(.shutdown) }
            return !state.shutDown
        }
        guard first else { return }
        wake.signal()
        exited.wait()
    }

    /// Takes the pending control operations (engine thread).
    func takeOperations() -> [ControlOp] {
        control.withLock { state in
            defer { state.ops.removeAll(keepingCapacity: true) }
            return state.ops
        }
    }

    private func promptIds(_ prompt: GenerationRequest.Prompt) throws -> [Int32] {
        let ids: [Int32]
        switch prompt {
        case .tokens(let t): ids = t
        case .text(let text):
            guard let tokenizer else { throw EngineError.noTokenizer }
            ids = tokenizer.encode(text, addSpecialTokens: true)
        }
        guard !ids.isEmpty else { throw EngineError.invalidRequest("the prompt is empty") }
        let vocab = model.config.vocabSize
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw EngineError.invalidRequest("prompt token id \(bad) is outside the vocabulary (0..<\(vocab))")
        }
        return ids
    }

    /// New tokens allowed and KV pages reserved for a prompt of `promptLength`.
    func reservation(promptLength p: Int, maxNewTokens: Int?) throws -> (maxNew: Int, pages: Int) {
        let maxPositions = model.config.maxPositions
        let cachePositions = configuration.pageCount * configuration.pageSize
        if let m = maxNewTokens, m < 1 { throw EngineError.invalidRequest("maxTokens must be at least 1, got \(m)") }
        guard p < maxPositions else { throw EngineError.contextExceeded(promptTokens: p, maxPositions: maxPositions) }
        // The last new token is never fed back, so a job holds prompt + maxNew - 1 positions.
        var maxNew = min(maxNewTokens ?? Int.max, maxPositions - p)
        if maxNewTokens == nil { maxNew = min(maxNew, cachePositions - p + 1) }
        let needed = p + max(maxNew, 1) - 1
        guard maxNew >= 1, needed <= cachePositions else {
            throw EngineError.promptTooLong(promptTokens: p, maxNewTokens: max(maxNew, 1), neededPositions: max(needed, p), cachePositions: cachePositions)
        }
        return (maxNew, (needed + configuration.pageSize - 1) / configuration.pageSize)
    }
}
