import LoraModel

/// What a `setLoras` call does when its timeout (counted from its arrival) passes before it commits.
public enum OnTimeout: String, Sendable, Codable, Equatable, CaseIterable {
    /// Nothing changes: held jobs run under the old set and the call fails with `EngineError.drainTimeout`.
    case abort
    /// Once the call is at the head of the line with its set built: the commit hook runs, then the remaining
    /// earlier jobs are cancelled (finish reason `cancelled`), then the set is swapped in. A failing hook
    /// cancels nothing.
    case cancel
}

/// A commit about to happen, given to the commit hook so the daemon can persist it first.
public struct SetLorasCommit: Sendable {
    /// The epoch the new set gets (the current one + 1).
    public var epoch: UInt64
    /// The adapters with their scales, in order.
    public var adapters: [AdapterDescription]
    /// The set itself.
    public var adapterSet: AdapterSet
}

/// Persists a commit before `setLoras` reports success. Called on the engine thread between two steps, so
/// it should be quick, and before anything changes (with `onTimeout: cancel`, before any job is cancelled);
/// if it throws, the commit is rolled back (the old set stays, the epoch does not move, no job is cancelled)
/// and the call fails with `EngineError.commitFailed`, which carries the hook's error.
public typealias CommitHook = @Sendable (SetLorasCommit) throws -> Void

/// The outcome of a committed `setLoras`.
public struct SetLorasResult: Sendable, Equatable {
    /// The epoch now in force.
    public var epoch: UInt64
    /// The adapters now active, with their scales.
    public var adapters: [AdapterDescription]
    /// Earlier jobs that finished while the call waited.
    public var jobsDrained: Int
    /// Earlier jobs cancelled at the timeout (`onTimeout: cancel`).
    public var jobsCancelled: Int
    /// Time from the call's arrival to the commit.
    public var waitedMilliseconds: Double
}

extension AdapterSet {
    /// The names and scales reported with results.
    var descriptions: [AdapterDescription] { entries.map { AdapterDescription(name: $0.adapter.name, scale: $0.scale) } }
}
