import Foundation
import GRDB

/// The registry's SQLite database through GRDB: WAL journal, `synchronous=FULL` (a commit is on disk when it
/// returns, even across a power cut), schema by `DatabaseMigrator`. All SQL of the registry lives here.
struct RegistryDatabase: Sendable {
    /// Commits kept for `history`.
    static let historyLimit = 32

    let queue: DatabaseQueue
    let path: String

    /// Opens (creating it `0640`) and migrates the database at `path`.
    init(path: String) throws {
        self.path = path
        do {
            // Created here with the registry's file mode; SQLite gives -wal and -shm the same mode.
            let fd = try FileOperations.openFile(path, O_RDWR | O_CREAT, mode: StateLayout.fileMode)
            fchmod(fd, StateLayout.fileMode)
            close(fd)
        } catch {
            throw RegistryError.io(path: path, reason: error.reason)
        }
        var configuration = Configuration()
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.write { db in
                if try Self.migrator.hasBeenSuperseded(db) {
                    throw RegistryError.database(reason: "\(path) was written by a newer lorad; run that version, or move the state directory aside")
                }
            }
            try Self.migrator.migrate(queue)
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError.database(reason: "cannot open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: adapters and commits") { db in
            try db.execute(sql: """
                CREATE TABLE adapter (
                    name TEXT PRIMARY KEY NOT NULL,
                    digest TEXT NOT NULL,
                    rank INTEGER NOT NULL,
                    alpha REAL NOT NULL,
                    useRSLoRA INTEGER NOT NULL,
                    targetModules TEXT NOT NULL,
                    layers TEXT,
                    sizeBytes INTEGER NOT NULL,
                    addedAt REAL NOT NULL,
                    modelFingerprint TEXT NOT NULL,
                    broken TEXT
                );
                CREATE INDEX adapter_digest ON adapter(digest);
                CREATE TABLE adapterCommit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    epoch INTEGER NOT NULL,
                    committedAt REAL NOT NULL,
                    entries TEXT NOT NULL
                );
                """)
        }
        return migrator
    }

    /// Runs `body` in a write transaction, mapping GRDB errors to `RegistryError.database`.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let error as RegistryError { throw error } catch {
            throw RegistryError.database(reason: "\(error)")
        }
    }

    /// Runs `body` in a read, mapping GRDB errors to `RegistryError.database`.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.read(body) } catch let error as RegistryError { throw error } catch {
            throw RegistryError.database(reason: "\(error)")
        }
    }

    // MARK: adapters

    /// A stored adapter row, without the loaded-model comparison.
    struct AdapterRow: Sendable, Equatable {
        var name: String
        var digest: String
        var rank: Int
        var alpha: Double
        var useRSLoRA: Bool
        var targetModules: [String]
        var layers: [Int]?
        var sizeBytes: Int64
        var addedAt: Date
        var modelFingerprint: String
        var broken: String?
    }

    static func adapters(_ db: Database) throws -> [AdapterRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM adapter ORDER BY name").map(decode)
    }

    static func adapter(_ db: Database, named name: String) throws -> AdapterRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM adapter WHERE name = ?", arguments: [name]).map(decode)
    }

    static func names(_ db: Database, digest: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM adapter WHERE digest = ? ORDER BY name", arguments: [digest])
    }

    static func insert(_ db: Database, _ row: AdapterRow) throws {
        let layers = try row.layers.map { try json($0) }
        try db.execute(
            sql: """
                INSERT INTO adapter (name, digest, rank, alpha, useRSLoRA, targetModules, layers, sizeBytes, addedAt, modelFingerprint, broken)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                row.name, row.digest, row.rank, row.alpha, row.useRSLoRA, try json(row.targetModules), layers, row.sizeBytes,
                row.addedAt.timeIntervalSince1970, row.modelFingerprint, row.broken,
            ])
    }

    static func delete(_ db: Database, named name: String) throws {
        try db.execute(sql: "DELETE FROM adapter WHERE name = ?", arguments: [name])
    }

    /// Sets (or clears, with nil) the broken mark of every row holding `digest`.
    static func setBroken(_ db: Database, digest: String, problem: String?) throws {
        try db.execute(sql: "UPDATE adapter SET broken = ? WHERE digest = ?", arguments: [problem, digest])
    }

    private static func decode(_ row: Row) throws -> AdapterRow {
        let layersText: String? = row["layers"]
        let modulesText: String = row["targetModules"]
        return AdapterRow(
            name: row["name"], digest: row["digest"], rank: row["rank"], alpha: row["alpha"], useRSLoRA: row["useRSLoRA"],
            targetModules: try unjson([String].self, modulesText), layers: try layersText.map { try unjson([Int].self, $0) },
            sizeBytes: row["sizeBytes"], addedAt: Date(timeIntervalSince1970: row["addedAt"]),
            modelFingerprint: row["modelFingerprint"], broken: row["broken"])
    }

    // MARK: commits

    static func insertCommit(_ db: Database, epoch: UInt64, entries: [CommittedEntry], at date: Date) throws {
        try db.execute(
            sql: "INSERT INTO adapterCommit (epoch, committedAt, entries) VALUES (?, ?, ?)",
            arguments: [Int64(bitPattern: epoch), date.timeIntervalSince1970, try json(entries)])
        try db.execute(
            sql: "DELETE FROM adapterCommit WHERE id NOT IN (SELECT id FROM adapterCommit ORDER BY id DESC LIMIT ?)",
            arguments: [historyLimit])
    }

    static func commits(_ db: Database, limit: Int) throws -> [CommittedSet] {
        try Row.fetchAll(db, sql: "SELECT * FROM adapterCommit ORDER BY id DESC LIMIT ?", arguments: [max(0, limit)]).map { row in
            let epoch: Int64 = row["epoch"]
            let entries: String = row["entries"]
            return CommittedSet(
                epoch: UInt64(bitPattern: epoch), entries: try unjson([CommittedEntry].self, entries),
                committedAt: Date(timeIntervalSince1970: row["committedAt"]))
        }
    }

    // MARK: JSON columns

    private static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func unjson<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(text.utf8)) } catch {
            throw RegistryError.database(reason: "a stored JSON column does not decode (\(error)); the database was changed outside lorad")
        }
    }
}
