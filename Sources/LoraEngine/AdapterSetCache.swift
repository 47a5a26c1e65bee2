import LoraModel
import Synchronization

/// Adapter sets built for jobs that name their own adapters, cached by content (`AdapterSetKey`) and shared
/// by every job that names the same adapters at the same scales. Bounded in bytes: a set no queued or running
/// job uses is evicted, least recently used first, to make room; a set in use never is, so a job whose set
/// would not fit beside the sets in use is refused (`EngineError.adapterCacheFull`) rather than growing the
/// cache past its bound. Safe from any thread; sets are built outside the lock.
final class AdapterSetCache: Sendable {
    private struct Entry {
        var set: AdapterSet
        var serial: UInt64
        var bytes: Int
        var users: Int
        var lastUsed: UInt64
    }

    private struct State {
        var entries: [AdapterSetKey: Entry] = [:]
        var bytes = 0
        var inUseBytes = 0
        var clock: UInt64 = 0
        var nextSerial: UInt64 = 1
        var status = AdapterCacheStatus()
    }

    /// A job's use of a cached set, returned by `acquire`; give it back with `release`.
    struct Lease: Sendable {
        let key: AdapterSetKey
        let set: AdapterSet
        /// Distinct per cached set (never 0): the engine groups a step's rows by it.
        let serial: UInt64
    }

    let limit: Int
    private let state: Mutex<State>

    init(limit: Int) {
        self.limit = limit
        var s = State()
        s.status.limitBytes = limit
        state = Mutex(s)
    }

    /// The set for `key`, cached or built by `build` (outside the lock; a set built twice by racing callers is
    /// kept once). Throws what `build` throws, or `EngineError.adapterCacheFull`.
    func acquire(_ key: AdapterSetKey, build: () throws -> AdapterSet) throws -> Lease {
        if let lease = try state.withLock({ s in try Self.use(key, in: &s, limit: limit) }) { return lease }
        let built = try build()
        return try state.withLock { s -> Lease in
            if let lease = try Self.use(key, in: &s, limit: limit) { return lease }
            let bytes = built.extraBytes
            guard s.inUseBytes + bytes <= limit else {
                throw EngineError.adapterCacheFull(neededBytes: bytes, inUseBytes: s.inUseBytes, limitBytes: limit)
            }
            // Evict unused sets, least recently used first, until the new one fits.
            while s.bytes + bytes > limit,
                  let victim = s.entries.filter({ $0.value.users == 0 }).min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                s.entries[victim.key] = nil
                s.bytes -= victim.value.bytes
                s.status.evictions += 1
            }
            s.clock += 1
            let serial = s.nextSerial
            s.nextSerial += 1
            s.entries[key] = Entry(set: built, serial: serial, bytes: bytes, users: 1, lastUsed: s.clock)
            s.bytes += bytes
            s.inUseBytes += bytes
            s.status.builds += 1
            return Lease(key: key, set: built, serial: serial)
        }
    }

    /// A cached set for `key`, now used once more; nil when not cached. Refuses at once when the sets in use
    /// already fill the cache, before anything is built.
    private static func use(_ key: AdapterSetKey, in s: inout State, limit: Int) throws -> Lease? {
        guard var entry = s.entries[key] else {
            if s.inUseBytes >= limit {
                throw EngineError.adapterCacheFull(neededBytes: nil, inUseBytes: s.inUseBytes, limitBytes: limit)
            }
            return nil
        }
        s.clock += 1
        if entry.users == 0 { s.inUseBytes += entry.bytes }
        entry.users += 1
        entry.lastUsed = s.clock
        s.entries[key] = entry
        s.status.hits += 1
        return Lease(key: key, set: entry.set, serial: entry.serial)
    }

    /// A job that used `key` ended (or was refused after `acquire`).
    func release(_ key: AdapterSetKey) {
        state.withLock { s in
            guard var entry = s.entries[key], entry.users > 0 else { return }
            entry.users -= 1
            if entry.users == 0 { s.inUseBytes -= entry.bytes }
            s.entries[key] = entry
        }
    }

    /// A snapshot for `EngineStatus`.
    func status() -> AdapterCacheStatus {
        state.withLock { s in
            var status = s.status
            status.entries = s.entries.count
            status.entriesInUse = s.entries.values.filter { $0.users > 0 }.count
            status.bytes = s.bytes
            return status
        }
    }
}
