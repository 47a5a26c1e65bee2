/// A snapshot of the engine, published after every step; reading it never waits for a forward pass.
public struct EngineStatus: Sendable, Equatable {
    /// Submitted jobs not yet admitted (including those a setLoras barrier holds).
    public var queuedJobs = 0
    /// Admitted jobs (in prefill or decode).
    public var runningJobs = 0
    public var freeKVPages = 0
    public var totalKVPages = 0
    /// The adapter epoch in force (0 for the initial set, +1 per commit).
    public var epoch: UInt64 = 0
    public var adapters: [AdapterDescription] = []
    /// setLoras calls not finished: building their set, waiting for their turn, or waiting for the drain.
    public var pendingSetLoras = 0
    /// Forward passes run so far.
    public var steps = 0
    /// Tokens generated so far.
    public var generatedTokens = 0
    /// Steps in which a running job's epoch differed from the engine's: always 0 unless there is a bug.
    public var epochViolations = 0
    /// The cache of sets built for jobs that name their own adapters.
    public var adapterCache = AdapterCacheStatus()
}
