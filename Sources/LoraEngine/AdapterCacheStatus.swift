/// The adapter set cache as `EngineStatus` reports it (sets built for jobs that name their own adapters).
public struct AdapterCacheStatus: Sendable, Equatable {
    /// Sets cached.
    public var entries = 0
    /// Sets a queued or running job uses (never evicted).
    public var entriesInUse = 0
    /// Bytes the cached sets hold (`AdapterSet.extraBytes`).
    public var bytes = 0
    /// The bound (`EngineConfiguration.adapterCacheBytes`).
    public var limitBytes = 0
    /// Sets evicted so far to make room.
    public var evictions = 0
    /// Jobs that found their set cached / that built it.
    public var hits = 0
    public var builds = 0

    public init() {}
}
