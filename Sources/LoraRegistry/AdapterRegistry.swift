import Foundation
import GRDB
import Logging
import LoraModel
import Synchronization

/// lorad's adapters on disk: a SQLite database of names, digests and committed adapter sets, and a read-only,
/// content-addressed copy of each adapter's files under `adapters/<digest>/`. The only writer of the state
/// directory; crash-safe (see docs/registry.md). Thread-safe: every method may be called from any thread.
public final class AdapterRegistry: Sendable {
    /// The state directory it holds.
    public let stateDirectory: URL
    /// The fingerprint of the loaded model (see `ModelFingerprint`).
    public let modelFingerprint: String
    /// What startup recovery found and did.
    public let recovery: RecoveryReport

    let model: LlamaConfig
    let logger: Logger
    let layout: StateLayout
    let database: RegistryDatabase
    /// Serializes changes to the files and rows (import's final step, remove, verify) and guards `close`.
    let state: Mutex<LockState>

    struct LockState: Sendable {
        var lock: StateDirectoryLock?
    }

    /// Opens the state directory (created `0750` when missing), takes its lock, migrates the database and runs
    /// startup recovery. Throws `RegistryError.locked` when another process holds it.
    public init(stateDirectory: URL, model: LlamaConfig, logger: Logger) throws {
        self.stateDirectory = stateDirectory
        self.model = model
        self.logger = logger
        self.modelFingerprint = ModelFingerprint(config: model).value
        let layout = StateLayout(root: stateDirectory)
        self.layout = layout
        try Self.prepareDirectory(layout.root)
        let lock = try StateDirectoryLock(path: layout.lock, directory: layout.root)
        do {
            try Self.prepareDirectory(layout.adapters)
            try Self.prepareDirectory(layout.temporary)
            database = try RegistryDatabase(path: layout.database)
            recovery = try Self.recover(layout: layout, database: database, fingerprint: modelFingerprint, logger: logger)
        } catch {
            lock.release()
            throw error
        }
        state = Mutex(LockState(lock: lock))
    }

    deinit {
        close()
    }

    /// Closes the database and releases the state directory's lock (another lorad may then open it); later calls
    /// throw `RegistryError.closed`. Idempotent.
    public func close() {
        state.withLock { s in
            guard let lock = s.lock else { return }
            // The connection closes before the lock is released, so a next holder never shares the file with it.
            do { try database.queue.close() } catch {
                logger.warning("closing the registry database failed", metadata: ["error": "\(error)"])
            }
            lock.release()
            s.lock = nil
        }
    }

    /// Every adapter, sorted by name.
    public func list() throws -> [AdapterRecord] {
        try ensureOpen()
        return try database.read { db in try RegistryDatabase.adapters(db) }.map(record)
    }

    /// The adapter named `named`, nil when there is none.
    public func record(named: String) throws -> AdapterRecord? {
        try ensureOpen()
        return try database.read { db in try RegistryDatabase.adapter(db, named: named) }.map(record)
    }

    /// The directory holding the record's files (read-only), to load with `LoraAdapter(directory:model:name:)`.
    public func contentDirectory(for record: AdapterRecord) -> URL {
        URL(fileURLWithPath: layout.content(record.digest), isDirectory: true)
    }

    /// The record of an adapter that may be activated: it exists, is not broken and fits the loaded model.
    /// Throws `adapterNotFound`, `broken` or `incompatible`.
    public func activatable(name: String) throws -> AdapterRecord {
        guard let found = try record(named: name) else { throw RegistryError.adapterNotFound(name: name) }
        if let problem = found.broken { throw RegistryError.broken(name: name, reason: problem) }
        guard found.compatible else {
            throw RegistryError.incompatible(
                name: name,
                reason: "it was validated against another model (fingerprint \(found.modelFingerprint.prefix(12)), loaded model \(modelFingerprint.prefix(12)))")
        }
        return found
    }

    /// Removes the adapter `name`: its row, then its files when no other name shares them. Refused with
    /// `adapterActive` when `activeNames` holds it.
    public func remove(name: String, activeNames: Set<String>) throws {
        try withOpenLock {
            guard let row = try database.read({ db in try RegistryDatabase.adapter(db, named: name) }) else {
                throw RegistryError.adapterNotFound(name: name)
            }
            guard !activeNames.contains(name) else { throw RegistryError.adapterActive(name: name) }
            let shared = try database.write { db in
                try RegistryDatabase.delete(db, named: name)
                return try RegistryDatabase.names(db, digest: row.digest)
            }
            if shared.isEmpty { removeContent(row.digest) }
            logger.info("adapter removed", metadata: ["adapter": "\(name)", "digest": "\(row.digest)"])
        }
    }

    /// The last committed adapter set, nil when none was ever recorded.
    public func committedSet() throws -> CommittedSet? {
        try history(limit: 1).first
    }

    /// Records a commit durably (the transaction is on disk when this returns) and trims the history to the
    /// last `RegistryDatabase.historyLimit` commits. Scales must be finite.
    public func recordCommit(epoch: UInt64, entries: [CommittedEntry]) throws {
        try ensureOpen()
        for entry in entries where !entry.scale.isFinite {
            throw RegistryError.adapterInvalid(name: entry.name, reason: "scale \(entry.scale) is not a finite number")
        }
        try database.write { db in try RegistryDatabase.insertCommit(db, epoch: epoch, entries: entries, at: Date()) }
    }

    /// The most recent commits, newest first, at most `limit` (the registry keeps 32).
    public func history(limit: Int) throws -> [CommittedSet] {
        try ensureOpen()
        return try database.read { db in try RegistryDatabase.commits(db, limit: limit) }
    }

    // MARK: internals

    func record(_ row: RegistryDatabase.AdapterRow) -> AdapterRecord {
        AdapterRecord(
            name: row.name, digest: row.digest, rank: row.rank, alpha: row.alpha, useRSLoRA: row.useRSLoRA,
            targetModules: row.targetModules, layers: row.layers, sizeBytes: row.sizeBytes, addedAt: row.addedAt,
            modelFingerprint: row.modelFingerprint, compatible: row.modelFingerprint == modelFingerprint, broken: row.broken)
    }

    func ensureOpen() throws {
        try state.withLock { s in
            guard s.lock != nil else { throw RegistryError.closed }
        }
    }

    /// Runs `body` holding the mutation lock, if the registry is open.
    func withOpenLock<T: Sendable>(_ body: () throws -> T) throws -> T {
        try state.withLock { s throws -> T in
            guard s.lock != nil else { throw RegistryError.closed }
            return try body()
        }
    }

    /// Deletes `adapters/<digest>/`; a failure is logged, not thrown: the row is already gone, and startup
    /// recovery removes an unreferenced directory.
    func removeContent(_ digest: String) {
        let path = layout.content(digest)
        do {
            try FileOperations.removeTree(path)
            try FileOperations.fsyncPath(layout.adapters)
        } catch {
            logger.warning("could not delete adapter files; the next start removes them", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    static func prepareDirectory(_ path: String) throws {
        do {
            try FileOperations.makeDirectory(path, mode: StateLayout.directoryMode)
        } catch let failure as FileOperations.Failure {
            throw RegistryError.io(path: path, reason: failure.reason)
        }
    }
}
