import Dispatch
import LoraModel
import Synchronization

extension Engine {
    /// Replaces the active adapters (DESIGN.md §4). Builds the new set on the calling thread (an invalid
    /// request throws `EngineError.invalidAdapterSet` and changes nothing), then waits until every job
    /// submitted before the barrier was installed has finished under the old set, while jobs submitted after
    /// it wait; commits between two steps (epoch + 1, `commitHook` first) and returns. `timeout` nil waits for
    /// ever. `[]` disables adapters. Blocks the caller. Concurrent calls are served in arrival order: a call
    /// whose set is quick to build still waits for an earlier one still building, so the last call to arrive
    /// is the set left in force.
    public func setLoras(_ entries: [AdapterSet.Entry], timeout: Duration? = nil, onTimeout: OnTimeout = .abort) throws -> SetLorasResult {
        let ticket = takeTicket()
        let set: AdapterSet
        do {
            set = try buildSet(entries)
        } catch {
            install(ticket: ticket, nil)
            throw error
        }
        return try waitForOutcome { completion in
            install(ticket: ticket, PendingSetLoras(set: set, timeoutNanos: timeout.map { Self.nanoseconds($0) }, onTimeout: onTimeout,
                                                    completion: completion))
        }
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

    /// `setLoras` with a set already built; blocks until the commit or the failure.
    public func setLoras(prebuilt set: AdapterSet, timeout: Duration? = nil, onTimeout: OnTimeout = .abort) throws -> SetLorasResult {
        try waitForOutcome { completion in
            setLoras(prebuilt: set, timeout: timeout, onTimeout: onTimeout, completion: completion)
        }
    }

    /// `setLoras` that returns at once: the barrier is installed before it returns (jobs submitted after
    /// this call are held) unless an earlier call is still building its set, in which case it is installed
    /// right after that one's; `completion` runs with the outcome (on the engine thread; after shutdown, on the
    /// thread that installs the call: this one, or an earlier call's when it finishes building).
    public func setLoras(
        prebuilt set: AdapterSet, timeout: Duration?, onTimeout: OnTimeout,
        completion: @escaping @Sendable (Result<SetLorasResult, any Error>) -> Void
    ) {
        install(ticket: takeTicket(), PendingSetLoras(set: set, timeoutNanos: timeout.map { Self.nanoseconds($0) }, onTimeout: onTimeout,
                                                      completion: completion))
    }

    /// The call's place in line, taken when it arrives.
    func takeTicket() -> UInt64 {
        control.withLock { state in
            defer { state.nextTicket += 1 }
            return state.nextTicket
        }
    }

    /// Records that call `ticket` has built its set (`nil`: its build failed), then installs the barrier of
    /// every call whose turn has come, in ticket order: each holds the jobs submitted from that moment on.
    func install(ticket: UInt64, _ pending: PendingSetLoras?) {
        let (installed, refused) = control.withLock { state -> (Int, [PendingSetLoras]) in
            state.builtSets[ticket] = .some(pending)
            var installed = 0
            var refused: [PendingSetLoras] = []
            while let next = state.builtSets.removeValue(forKey: state.nextTicketToInstall) {
                state.nextTicketToInstall += 1
                guard let call = next else { continue }
                guard !state.shutDown else {
                    refused.append(call)
                    continue
                }
                let request = DrainBarrier.Request(id: state.nextRequestID, holdFrom: state.nextJobID,
                                                   timeoutNanos: call.timeoutNanos, onTimeout: call.onTimeout)
                state.nextRequestID += 1
                state.status.pendingSetLoras += 1
                state.ops.append(.setLoras(SetLorasOperation(request: request, set: call.set, completion: call.completion)))
                installed += 1
            }
            return (installed, refused)
        }
        for call in refused { call.completion(.failure(EngineError.shutDown)) }
        if installed > 0 { wake.signal() }
    }

    /// Runs `start` with a completion and blocks until that completion has run.
    private func waitForOutcome(_ start: (@escaping @Sendable (Result<SetLorasResult, any Error>) -> Void) -> Void) throws -> SetLorasResult {
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
