import Foundation
import Logging

extension AdapterRegistry {
    /// Startup recovery, before any other use (the state directory's lock is held):
    /// 1. everything under `tmp/` is an import a crash interrupted: removed;
    /// 2. a directory under `adapters/` that no row references (an import that died between its rename and its
    ///    insert, a remove that died between its delete and its unlink): removed;
    /// 3. every referenced content directory is re-hashed: rows whose files are missing or corrupt are marked
    ///    broken (and a broken mark whose files match again is cleared);
    /// 4. rows validated against another model are reported incompatible. Nothing is deleted for that.
    static func recover(layout: StateLayout, database: RegistryDatabase, fingerprint: String, logger: Logger) throws -> RecoveryReport {
        var report = RecoveryReport()
        func removeAll(in parent: String, where shouldRemove: (String) -> Bool) throws -> [String] {
            var removed: [String] = []
            let names: [String]
            do { names = try FileOperations.entries(parent) } catch let failure as FileOperations.Failure {
                throw RegistryError.io(path: parent, reason: failure.reason)
            }
            for name in names where shouldRemove(name) {
                let path = parent + "/" + name
                do { try FileOperations.removeTree(path) } catch let failure as FileOperations.Failure {
                    throw RegistryError.io(path: path, reason: "cannot remove a leftover: \(failure.reason)")
                }
                removed.append(path)
            }
            if !removed.isEmpty {
                do { try FileOperations.fsyncPath(parent) } catch let failure as FileOperations.Failure {
                    throw RegistryError.io(path: parent, reason: failure.reason)
                }
            }
            return removed
        }

        report.removedTemporaryDirectories = try removeAll(in: layout.temporary) { _ in true }
        let rows = try database.read { db in try RegistryDatabase.adapters(db) }
        let referenced = Set(rows.map(\.digest))
        report.removedOrphanDirectories = try removeAll(in: layout.adapters) { !referenced.contains($0) }

        var problems: [String: String?] = [:]
        for digest in referenced { problems[digest] = checkContent(layout: layout, digest: digest) }
        try database.write { db in
            for (digest, problem) in problems { try RegistryDatabase.setBroken(db, digest: digest, problem: problem) }
        }
        for row in rows {
            let problem = problems[row.digest] ?? nil
            if let problem {
                report.brokenAdapters.append(.init(name: row.name, reason: problem))
            } else if row.broken != nil {
                report.repairedAdapters.append(row.name)
            }
            if row.modelFingerprint != fingerprint { report.incompatibleAdapters.append(row.name) }
        }

        for path in report.removedTemporaryDirectories {
            logger.notice("removed an interrupted import", metadata: ["path": "\(path)"])
        }
        for path in report.removedOrphanDirectories {
            logger.notice("removed adapter files no adapter refers to", metadata: ["path": "\(path)"])
        }
        for broken in report.brokenAdapters {
            logger.error("adapter is broken and cannot be activated; remove and import it again", metadata: ["adapter": "\(broken.name)", "problem": "\(broken.reason)"])
        }
        if !report.incompatibleAdapters.isEmpty {
            logger.warning(
                "adapters validated against another model are kept but cannot be activated with this one",
                metadata: ["adapters": "\(report.incompatibleAdapters.joined(separator: ", "))"])
        }
        return report
    }
}
