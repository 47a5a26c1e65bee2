import Dispatch
import LoraModel
import Synchronization

extension Engine {
    /// Replaces the active adapters (DESIGN.md §4). Builds the new set on the calling thread (an invalid
    /// request throws `EngineError.invalidAdapterSet` and changes nothing), then waits until every job
    /// submitted before the call has finished under the old set, while jobs submitted after it wait; commits
    /// between two steps (epoch + 1, `commitHook` first) and returns. `timeout` nil waits for ever. `[]`
    /// disables adapters. Blocks the caller; concurrent calls are served in arrival order.
    public func setLoras(_ entries: [AdapterSet.Entry], timeout: Duration? = nil, onTimeout: OnTimeout = .abort) throws -> SetLorasResult {
        let set = try buildSet(entries)
        return try setLoras(prebuilt: set, timeout: timeout, onTimeout: onTimeout)
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
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<SetLorasResult, any Error>?>(nil)
        setLoras(prebuilt: set, timeout: timeout, onTimeout: onTimeout) { result in
            box.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = box.withLock({ $0 }) else { throw EngineError.shutDown }
        return try result.get()
    }

    /// `setLoras` that returns at once: the barrier is installed before it returns (jobs submitted after
    /// this call are held), and `completion` runs on the engine thread with the outcome.
    public func setLoras(
        prebuilt set: AdapterSet, timeout: Duration?, onTimeout: OnTimeout,
        completion: @escaping @Sendable (Result<SetLorasResult, any Error>) -> Void
    ) {
        let nanos = timeout.map { Self.nanoseconds($0) }
        let accepted = control.withLock { state -> Bool in
            guard !state.shutDown else { return false }
            let request = DrainBarrier.Request(id: state.nextRequestID, holdFrom: state.nextJobID, timeoutNanos: nanos, onTimeout: onTimeout)
            state.nextRequestID += 1
            state.status.pendingSetLoras += 1
            state.ops.append(.setLoras(SetLorasOperation(request: request, set: set, completion: completion)))
            return true
        }
        guard accepted else {
            completion(.failure(EngineError.shutDown))
            return
        }
        wake.signal()
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
