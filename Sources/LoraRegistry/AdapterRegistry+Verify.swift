import Foundation

extension AdapterRegistry {
    /// Re-hashes the stored files of the adapter `name` (every adapter when nil) against their digests. A
    /// mismatch or a missing file marks every name sharing those files broken; files that match again clear the
    /// mark. Throws `adapterNotFound` for an unknown name.
    /// The files are hashed without the registry's lock (which `list`, imports and commits need): a verify of
    /// large adapters never holds up the daemon. Only a mismatch is checked again under the lock before it is
    /// recorded, so a copy repaired meanwhile by an import is not marked broken.
    public func verify(name: String?) throws -> [VerifyOutcome] {
        try ensureOpen()
        let rows = try database.read { db in try RegistryDatabase.adapters(db) }
        let selected = name.map { n in rows.filter { $0.name == n } } ?? rows
        if let name, selected.isEmpty { throw RegistryError.adapterNotFound(name: name) }
        var problems: [String: String?] = [:]
        for digest in Set(selected.map(\.digest)) {
            problems[digest] = Self.checkContent(layout: layout, digest: digest)
        }
        try withOpenLock {
            for (digest, problem) in problems where problem != nil {
                problems[digest] = Self.checkContent(layout: layout, digest: digest)
            }
            try database.write { db in
                for (digest, problem) in problems {
                    try RegistryDatabase.setBroken(db, digest: digest, problem: problem)
                }
            }
        }
        return selected.map { row in
            let problem = problems[row.digest] ?? nil
            if let problem {
                logger.error("adapter files do not match their digest; marked broken", metadata: ["adapter": "\(row.name)", "problem": "\(problem)"])
            }
            return VerifyOutcome(name: row.name, ok: problem == nil, problem: problem)
        }
    }

    /// What is wrong with `adapters/<digest>/`, nil when both files are there and hash to `digest`.
    static func checkContent(layout: StateLayout, digest: String) -> String? {
        let directory = layout.content(digest)
        var hashes: [String: String] = [:]
        for file in AdapterDigest.files {
            let path = directory + "/" + file
            do {
                hashes[file] = try FileOperations.hashFile(path).sha256
            } catch let failure as FileOperations.Failure {
                return failure.code == ENOENT ? "\(file) is missing from \(directory)" : "cannot read \(path): \(failure.reason)"
            } catch {
                return "cannot read \(path): \(error)"
            }
        }
        let actual = AdapterDigest.combine(fileHashes: hashes)
        guard actual == digest else {
            return "the files in \(directory) hash to \(actual.prefix(12))…, not to their digest: they were changed or corrupted on disk"
        }
        return nil
    }
}
