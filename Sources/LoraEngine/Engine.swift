import Dispatch
import Foundation
import Logging
import LoraModel
import LoraNumerics
import LoraTokenizer
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The dynamic batched generator: many jobs share one forward pass per step, and the active adapter set
/// changes only through `setLoras`, a transaction that never lets a job run under two sets (DESIGN.md §3, §4).
///
/// One engine thread runs the steps. `submit`, `cancel`, `status` and the `setLoras` forms that take a
/// completion are safe from any thread, including the engine thread (job sinks, setLoras completions): they
/// hand a control operation to the engine thread under a short lock and never wait for a forward pass. The
/// blocking `setLoras` forms wait for the outcome, so they refuse to run on the engine thread
/// (`EngineError.blockingCallOnEngineThread`, in every build). Call `shutdown()`
/// to stop the thread.
public final class Engine: Sendable {
    /// Control operations, applied by the engine thread at the start of a step, in order.
    enum ControlOp: Sendable {
        case submit(PreparedJob)
        case cancel(JobID)
        /// A setLoras call arrived: it joins the line now, before its set is built (`set` nil) or with it.
        case setLorasArrived(SetLorasCall)
        /// A call's set finished building (or failed to).
        case setLorasBuilt(UInt64, Result<AdapterSet, any Error>)
        /// A liveness probe: its answer runs on the engine thread when the loop next takes its operations.
        case probe(@Sendable () -> Void)
        case shutdown
    }

    /// A setLoras call on its way to the engine thread.
    struct SetLorasCall: Sendable {
        var request: DrainBarrier.Request
        /// nil until built.
        var set: AdapterSet?
        var completion: @Sendable (Result<SetLorasResult, any Error>) -> Void
    }

    struct ControlState: Sendable {
        var ops: [ControlOp] = []
        var nextJobID: JobID = 1
        var nextRequestID: UInt64 = 1
        /// Submitted jobs not yet admitted or ended (the busy limit).
        var unadmitted = 0
        /// Submitted jobs without a finished event yet.
        var live: Set<JobID> = []
        /// setLoras calls arrived and not completed: the one count `status().pendingSetLoras` reports.
        var pendingSetLoras = 0
        var status = EngineStatus()
        var shutDown = false
        /// Adapter names of live jobs with their own adapters, with how many such jobs name each.
        var ownAdapterNames: [String: Int] = [:]
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
    /// The setLoras clock, in nanoseconds (monotonic uptime; tests inject their own).
    let clock: @Sendable () -> UInt64
    /// The epoch of the set the engine starts with.
    let initialEpoch: UInt64
    /// Signalled for every control operation; the idle engine thread waits on it.
    let wake = DispatchSemaphore(value: 0)
    /// Signalled once when the engine thread exits.
    let exited = DispatchSemaphore(value: 0)
    /// The engine thread, once it runs: calls that would wait for it refuse to run on it.
    let engineThread = Mutex<pthread_t?>(nil)
    /// Times the idle engine thread woke up (tests: an idle engine must not spin).
    let wakeUps = Atomic<Int>(0)
    /// Sets built for jobs that name their own adapters, shared by content.
    let adapterSets: AdapterSetCache
    /// Where `setLoras(_:timeout:onTimeout:completion:)` builds sets.
    static let buildQueue = DispatchQueue(label: "lorad.engine.build-set", qos: .userInitiated, attributes: .concurrent)

    /// Monotonic uptime in nanoseconds.
    static let systemClock: @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }

    /// Starts an engine serving `model` with `adapters` as epoch `initialEpoch`: 0 for a fresh start, or the
    /// epoch of the set a daemon restores from disk, so that the next `setLoras` commits `initialEpoch + 1`.
    public convenience init(
        model: LlamaModel, tokenizer: Tokenizer?, configuration: EngineConfiguration = EngineConfiguration(),
        adapters: AdapterSet = .none, initialEpoch: UInt64 = 0, defaultSampling: SamplingParameters = .greedy,
        logger: Logger = Logger(label: "lorad.engine"), commitHook: CommitHook? = nil
    ) throws {
        try self.init(model: model, tokenizer: tokenizer, configuration: configuration, adapters: adapters, initialEpoch: initialEpoch,
                      defaultSampling: defaultSampling, logger: logger, commitHook: commitHook, clock: Self.systemClock)
    }

    /// An engine whose setLoras deadlines follow `clock` (tests drive time through it).
    init(
        model: LlamaModel, tokenizer: Tokenizer?, configuration: EngineConfiguration, adapters: AdapterSet, initialEpoch: UInt64 = 0,
        defaultSampling: SamplingParameters, logger: Logger, commitHook: CommitHook?, clock: @escaping @Sendable () -> UInt64
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
        self.clock = clock
        self.initialEpoch = initialEpoch
        adapterSets = AdapterSetCache(limit: configuration.adapterCacheBytes)
        // `LlamaConfig.validate` keeps these below vocab_size, which fits 32 bits.
        let modelEos = model.config.eosTokenIds.map { Int32($0) }
        eosTokenIds = modelEos.isEmpty ? (tokenizer?.eosTokenIds ?? []) : modelEos
        var state = ControlState()
        state.status.totalKVPages = configuration.pageCount
        state.status.freeKVPages = configuration.pageCount
        state.status.adapters = adapters.descriptions
        state.status.epoch = initialEpoch
        control = Mutex(state)
        // Made here, so a pool the configuration allows but the pool refuses is an error, not a trap.
        // Boxed: the pool moves to the engine thread, which alone uses it from then on.
        let cache = UncheckedSendableBox(try KVPagePool(config: model.config, pageSize: configuration.pageSize,
                                                        pageCount: configuration.pageCount, precision: configuration.kvCachePrecision))
        let thread = Thread { [self] in
            engineThread.withLock { $0 = pthread_self() }
            let loop = EngineLoop(engine: self, adapters: adapters, cache: cache.value)
            loop.run()
            exited.signal()
        }
        thread.name = "lorad-engine"
        thread.start()
    }

    /// Whether the caller runs on the engine thread (a job sink or a setLoras completion).
    var onEngineThread: Bool {
        engineThread.withLock { thread in thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Refuses a call that would wait for the engine thread when made on it: it could only deadlock.
    func refuseOnEngineThread(_ call: String) throws {
        // An error in every build, not a trap: the daemon's handlers are sinks, and a mistake there should
        // fail one request, not stop the process.
        guard onEngineThread else { return }
        throw EngineError.blockingCallOnEngineThread(call)
    }

    /// The latest snapshot.
    public func status() -> EngineStatus {
        var status = control.withLock { state in
            var status = state.status
            status.pendingSetLoras = state.pendingSetLoras
            return status
        }
        status.adapterCache = adapterSets.status()
        return status
    }

    /// The names of the adapters in use: the global set's, and those of every queued or running job that named
    /// its own (`GenerationRequest.loras`). The daemon refuses to remove an adapter while it is in use.
    public func adaptersInUse() -> Set<String> {
        control.withLock { state in Set(state.ownAdapterNames.keys).union(state.status.adapters.map(\.name)) }
    }

    /// Validates and queues a job; its events go to `sink` on the engine thread (see `JobSink`). Throws
    /// `EngineError` when the request is larger than a configured limit (`requestTooLarge`, checked before
    /// anything is tokenized), is invalid, can never fit (`promptTooLong`, `contextExceeded`), or the queue is
    /// full (`busy`); nothing is queued then.
    @discardableResult
    public func submit(_ request: GenerationRequest, sink: @escaping JobSink) throws -> JobID {
        try checkSize(request)
        let sampling = request.sampling ?? defaultSampling
        try sampling.validate()
        let prompt = try promptIds(request.prompt)
        if !request.stop.stopStrings.isEmpty && tokenizer == nil { throw EngineError.noTokenizer }
        let (maxNew, pages) = try reservation(promptLength: prompt.count, maxNewTokens: request.stop.maxNewTokens)
        let own = try ownAdapters(request.loras)
        var queued = false
        // A job refused below gives its cached set back.
        defer { if !queued, let lease = own?.lease { adapterSets.release(lease.key) } }
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
                logprobs: request.logprobs, sink: sink, submittedAt: now, own: own)))
            for name in own?.descriptions.map(\.name) ?? [] { state.ownAdapterNames[name, default: 0] += 1 }
            return id
        }
        queued = true
        wake.signal()
        return id
    }

    /// The set and descriptions of a job's own adapters (nil: the global set). Throws
    /// `EngineError.invalidRequest` when the set cannot be built (a scale that is not finite, an adapter that
    /// does not fit the model) and `EngineError.adapterCacheFull`.
    private func ownAdapters(_ loras: [AdapterSet.Entry]?) throws -> OwnAdapters? {
        guard let loras else { return nil }
        let descriptions = loras.map { AdapterDescription(name: $0.adapter.name, scale: $0.scale) }
        guard !loras.isEmpty else { return OwnAdapters(lease: nil, set: .none, descriptions: []) }
        let lease = try adapterSets.acquire(AdapterSetKey(loras)) { [model, configuration] in
            do {
                // Always unmerged: the job's rows share the base products with every other row of the step.
                return try AdapterSet(loras, model: model, mode: .unmerged, deltaElement: configuration.perJobDeltaElement)
            } catch {
                throw EngineError.invalidRequest("loras: \(error)")
            }
        }
        return OwnAdapters(lease: lease, set: lease.set, descriptions: descriptions)
    }

    /// A job ended (engine thread): it is no longer live, its adapter names are no longer in use, and its
    /// cached set is given back.
    func jobEnded(_ id: JobID, own: OwnAdapters?) {
        control.withLock { state in
            _ = state.live.remove(id)
            for name in own?.descriptions.map(\.name) ?? [] {
                let left = (state.ownAdapterNames[name] ?? 1) - 1
                state.ownAdapterNames[name] = left > 0 ? left : nil
            }
        }
        if let lease = own?.lease { adapterSets.release(lease.key) }
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

    /// Cancels every job and pending setLoras, then stops the engine thread and waits for it. Called on the
    /// engine thread (a sink), it asks for the stop and returns at once: waiting there would deadlock.
    public func shutdown() {
        let first = control.withLock { state -> Bool in
            defer { state.shutDown = true }
            if !state.shutDown { state.ops.append(.shutdown) }
            return !state.shutDown
        }
        guard first else { return }
        wake.signal()
        if !onEngineThread { exited.wait() }
    }

    /// A liveness probe: `answer` runs on the engine thread the next time its loop takes control operations,
    /// which is between two forward passes, or at once when the engine is idle (the probe wakes it). A stuck
    /// engine (a forward pass that never ends, a sink that blocks) never answers, which is the point: the
    /// daemon's systemd watchdog pings only after an answer. Keep `answer` short; it holds up the next step.
    /// Returns false, and `answer` never runs, when the engine has shut down.
    @discardableResult
    public func probe(_ answer: @escaping @Sendable () -> Void) -> Bool {
        let queued = control.withLock { state -> Bool in
            guard !state.shutDown else { return false }
            state.ops.append(.probe(answer))
            return true
        }
        if queued { wake.signal() }
        return queued
    }

    /// Takes the pending control operations (engine thread).
    func takeOperations() -> [ControlOp] {
        control.withLock { state in
            defer { state.ops.removeAll(keepingCapacity: true) }
            return state.ops
        }
    }

    /// Refuses a request past a size limit of the configuration, or with stop conditions that can never
    /// work, before anything is tokenized or scanned.
    private func checkSize(_ request: GenerationRequest) throws {
        let c = configuration, vocab = model.config.vocabSize
        if case .text(let text) = request.prompt {
            let limit = c.maxPromptBytes(maxPositions: model.config.maxPositions)
            let bytes = text.utf8.count
            if bytes > limit { throw EngineError.requestTooLarge(.maxPromptBytes, size: bytes, limit: limit) }
        }
        let stop = request.stop
        if stop.stopStrings.count > c.maxStopStrings {
            throw EngineError.requestTooLarge(.maxStopStrings, size: stop.stopStrings.count, limit: c.maxStopStrings)
        }
        for string in stop.stopStrings {
            let bytes = string.utf8.count
            if bytes > c.maxStopStringBytes { throw EngineError.requestTooLarge(.maxStopStringBytes, size: bytes, limit: c.maxStopStringBytes) }
            if bytes == 0 { throw EngineError.invalidRequest("a stop string is empty and could never match; remove it") }
        }
        if stop.stopTokenIds.count > c.maxStopTokenIds {
            throw EngineError.requestTooLarge(.maxStopTokenIds, size: stop.stopTokenIds.count, limit: c.maxStopTokenIds)
        }
        if let bad = stop.stopTokenIds.first(where: { $0 < 0 || Int($0) >= vocab }) {
            throw EngineError.invalidRequest("stop token id \(bad) is outside the vocabulary (0..<\(vocab))")
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
        return (maxNew, KVPagePool.pagesNeeded(positions: needed, pageSize: configuration.pageSize))
    }
}
