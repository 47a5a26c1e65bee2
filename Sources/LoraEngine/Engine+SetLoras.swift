import Dispatch
import LoraModel
import Synchronization

extension Engine {
    /// The outcome of a setLoras call.
    public typealias SetLorasCompletion = @Sendable (Result<SetLorasResult, any Error>) -> Void

    /// Replaces the active adapters (DESIGN.md §4) and returns at once; `completion` gets the outcome.
    ///
    /// The call takes its place in line when it arrives, before its set is built: every job submitted after
    /// this method is entered waits for the call's outcome (it starts under the new set if the call commits,
    /// under the set then in force if it fails), and the call waits for the jobs submitted before it. The set
    /// is built on a background queue (an invalid request fails with `EngineError.invalidAdapterSet` and
    /// changes nothing); calls commit one at a time, in arrival order, so the call that arrived last leaves its
    /// set in force. Committing runs `commitHook` first (`EngineError.commitFailed` if it throws: nothing
    /// changes), then the epoch increases by one.
    ///
    /// `timeout` (nil: none) counts from the arrival and bounds building, waiting behind earlier calls and
    /// draining. At it, `abort` fails the call with `EngineError.drainTimeout` wherever it is, and nothing
    /// changes; `cancel`, once the call is at the head of the line with its set built, runs the commit hook,
    /// then cancels the earlier jobs still running, then commits (a failing hook cancels nothing).
    ///
    /// `completion` runs on the engine thread (on this thread if the engine has shut down); like a job sink it
    /// must not block, and may call any engine method except the blocking ones.
    public func setLoras(
        _ entries: [AdapterSet.Entry], timeout: Duration?, onTimeout: OnTimeout, completion: @escaping SetLorasCompletion
    ) {
        setLoras(building: { [self] in try buildSet(entries) }, timeout: timeout, onTimeout: onTimeout, completion: completion)
    }

    /// `setLoras(_:timeout:onTimeout:completion:)` with a set already built (by `buildSet`).
    public func setLoras(
        prebuilt set: AdapterSet, timeout: Duration?, onTimeout: OnTimeout, completion: @escaping SetLorasCompletion
    ) {
        arrive(timeout: timeout, onTimeout: onTimeout, prebuilt: set, completion: completion)
    }

    /// `setLoras(_:timeout:onTimeout:completion:)` that blocks until the outcome, which it returns or throws.
    /// Throws `EngineError.blockingCallOnEngineThread` when called on the engine thread (a job sink or a
    /// setLoras completion), where it would deadlock.
    public func setLoras(_ entries: [AdapterSet.Entry], timeout: Duration? = nil, onTimeout: OnTimeout = .abort) throws -> SetLorasResult {
        try refuseOnEngineThread("setLoras")
        return try waitForOutcome { setLoras(entries, timeout: timeout, onTimeout: onTimeout, completion: $0) }
    }

    /// `setLoras(prebuilt:timeout:onTimeout:completion:)` that blocks until the outcome; refused on the
    /// engine thread like the other blocking form.
    public func setLoras(prebuilt set: AdapterSet, timeout: Duration? = nil, onTimeout: OnTimeout = .abort) throws -> SetLorasResult {
        try refuseOnEngineThread("setLoras")
        return try waitForOutcome { setLoras(prebuilt: set, timeout: timeout, onTimeout: onTimeout, completion: $0) }
    }

    /// Builds an adapter set for this engine's model and mode (what `setLoras` does first).
    public func buildSet(_ entries: [AdapterSet.Entry]) throws -> AdapterSet {
        if entries.isEmpty { return .none }
        do {
            return try AdapterSet(entries, model: model, mode: configuration.loraMode, mergeBudgetBytes: configuration.mergeBudgetBytes)
        } catch {
            throw EngineError.invalidAdapterSet("\(error)")
        }
    }

    /// The full call with the build given as a closure, run on a background queue after the call has joined the
    /// line: the daemon loads the adapters' files inside it, so that the timeout and the hold on later jobs count
    /// from the call's arrival (tests pass a build that waits for them). An error the build throws is the call's
    /// outcome, unchanged.
    public func setLoras(
        building build: @escaping @Sendable () throws -> AdapterSet, timeout: Duration?, onTimeout: OnTimeout,
        completion: @escaping SetLorasCompletion
    ) {
        guard let id = arrive(timeout: timeout, onTimeout: onTimeout, prebuilt: nil, completion: completion) else { return }
        Self.buildQueue.async { [self] in
            let result = Result { try build() }
            let accepted = control.withLock { state -> Bool in
                // After shutdown the call has already failed with `shutDown`.
                guard !state.shutDown else { return false }
                state.ops.append(.setLorasBuilt(id, result))
                return true
            }
            if accepted { wake.signal() }
        }
    }

    /// Enters a call in line (its hold starts now) and returns its id; nil, after failing it with `shutDown`,
    /// when the engine has shut down.
    @discardableResult
    func arrive(timeout: Duration?, onTimeout: OnTimeout, prebuilt: AdapterSet?, completion: @escaping SetLorasCompletion) -> UInt64? {
        let now = clock()
        let id = control.withLock { state -> UInt64? in
            guard !state.shutDown else { return nil }
            let id = state.nextRequestID
            state.nextRequestID += 1
            state.pendingSetLoras += 1
            let request = DrainBarrier.Request(id: id, holdFrom: state.nextJobID, arrivedAt: now,
                                               timeoutNanos: timeout.map { Self.nanoseconds($0) }, onTimeout: onTimeout)
            state.ops.append(.setLorasArrived(SetLorasCall(request: request, set: prebuilt, completion: completion)))
            return id
        }
        guard let id else {
            completion(.failure(EngineError.shutDown))
            return nil
        }
        wake.signal()
        return id
    }

    /// Runs `start` with a completion and blocks until that completion has run.
    private func waitForOutcome(_ start: (@escaping SetLorasCompletion) -> Void) throws -> SetLorasResult {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<SetLorasResult, any Error>?>(nil)
        start { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = box.withLock({ $0 }) else { throw EngineError.shutDown }
        return try result.get()
    }

    /// `d` in nanoseconds, saturating: a timeout too large to represent waits as long as one can.
    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (seconds, attoseconds) = d.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (total, carry) = whole.addingReportingOverflow(UInt64(max(0, attoseconds) / 1_000_000_000))
        return carry ? .max : total
    }
}
