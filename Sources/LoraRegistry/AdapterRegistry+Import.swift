import Foundation
import LoraModel

extension AdapterRegistry {
    /// Imports the adapter in `source` under `name`: copies its files into `tmp/` (fsynced), validates the copy
    /// fully against the loaded model, moves it to `adapters/<digest>/` (read-only; shared with any name that
    /// has the same content), then inserts the row in one transaction. Any failure leaves no row and no
    /// directory. An existing name is `adapterExists` unless `replace`; replacing a name in `activeNames` is
    /// `adapterActive`. `progress` hears each `ImportStep`.
    public func importAdapter(
        name: String, from source: URL, replace: Bool, activeNames: Set<String>, progress: (ImportStep) -> Void = { _ in }
    ) throws -> AdapterRecord {
        try AdapterName.validate(name)
        // Fail fast, before copying; checked again under the lock at the end.
        if let existing = try record(named: name) { try checkReplaceable(existing.name, replace: replace, activeNames: activeNames) }
        let adapterSource = try AdapterSource(source)

        progress(.copying)
        let temporary = layout.temporary + "/import-" + UUID().uuidString.lowercased()
        var leftover: String? = temporary
        defer {
            if let leftover { try? FileOperations.removeTree(leftover) }
        }
        do { try FileOperations.makeDirectory(temporary, mode: StateLayout.directoryMode) } catch let failure as FileOperations.Failure {
            throw RegistryError.io(path: temporary, reason: failure.reason)
        }
        var hashes: [String: String] = [:]
        var size: Int64 = 0
        for file in AdapterDigest.files {
            let from = adapterSource.directory + "/" + file, to = temporary + "/" + file
            do {
                let copied = try FileOperations.copyAndHash(from: from, to: to, mode: StateLayout.fileMode)
                hashes[file] = copied.sha256
                size += copied.size
            } catch .source(let failure) {
                throw RegistryError.invalidSource(path: source.path, reason: AdapterSource.describe(failure.code, what: file))
            } catch .destination(let failure) {
                throw RegistryError.io(path: to, reason: failure.reason)
            }
        }
        try io(temporary) { try FileOperations.fsyncPath(temporary) }
        progress(.hashing)
        let digest = AdapterDigest.combine(fileHashes: hashes)

        progress(.validating)
        let adapter: LoraAdapter
        do {
            adapter = try LoraAdapter(directory: URL(fileURLWithPath: temporary, isDirectory: true), model: model, name: name)
        } catch let error as AdapterLoadError {
            throw Self.refusal(error, name: name, temporary: temporary, source: adapterSource.directory)
        } catch {
            throw RegistryError.adapterInvalid(name: name, reason: "\(error)".replacingOccurrences(of: temporary, with: adapterSource.directory))
        }
        let row = summary(of: adapter, name: name, digest: digest, size: size)

        progress(.committing)
        return try withOpenLock {
            let existing = try database.read { db in try RegistryDatabase.adapter(db, named: name) }
            if let existing { try checkReplaceable(existing.name, replace: replace, activeNames: activeNames) }
            let content = layout.content(digest)
            var created = false
            var healed = false
            if try io(content, { try FileOperations.lstatMode(content) }) != nil {
                if let problem = Self.checkContent(layout: layout, digest: digest) {
                    // The shared copy went bad: put the fresh, validated one in its place.
                    logger.warning("stored adapter files were corrupt; replacing them with the new import's", metadata: ["path": "\(content)", "problem": "\(problem)"])
                    try io(content) { try FileOperations.removeTree(content) }
                    healed = true
                } else {
                    progress(.deduplicated)
                }
            }
            if try io(content, { try FileOperations.lstatMode(content) }) == nil {
                try io(content) {
                    for file in AdapterDigest.files {
                        try FileOperations.check(chmod(temporary + "/" + file, StateLayout.storedFileMode), "chmod", temporary + "/" + file)
                    }
                    try FileOperations.renamePath(temporary, content)
                }
                leftover = nil
                created = true
                try io(content) {
                    try FileOperations.check(chmod(content, StateLayout.storedDirectoryMode), "chmod", content)
                    try FileOperations.fsyncPath(layout.adapters)
                    try FileOperations.fsyncPath(layout.temporary)
                }
            }
            let stored: RegistryDatabase.AdapterRow
            do {
                stored = try database.write { db in
                    if existing != nil { try RegistryDatabase.delete(db, named: name) }
                    try RegistryDatabase.insert(db, row)
                    if healed { try RegistryDatabase.setBroken(db, digest: digest, problem: nil) }
                    guard let back = try RegistryDatabase.adapter(db, named: name) else {
                        throw RegistryError.database(reason: "the row for '\(name)' vanished inside its own transaction")
                    }
                    return back
                }
            } catch {
                if created, (try? database.read({ db in try RegistryDatabase.names(db, digest: digest) }))?.isEmpty ?? true {
                    removeContent(digest)
                }
                throw error
            }
            if let existing, existing.digest != digest,
               try database.read({ db in try RegistryDatabase.names(db, digest: existing.digest) }).isEmpty {
                removeContent(existing.digest)
            }
            logger.info(
                "adapter imported",
                metadata: ["adapter": "\(name)", "digest": "\(digest)", "bytes": "\(size)", "shared": "\(!created)", "replaced": "\(existing != nil)"])
            return record(stored)
        }
    }

    func checkReplaceable(_ name: String, replace: Bool, activeNames: Set<String>) throws {
        guard replace else { throw RegistryError.adapterExists(name: name) }
        guard !activeNames.contains(name) else { throw RegistryError.adapterActive(name: name) }
    }

    /// Runs a file operation in the state directory, mapping its failure to `RegistryError.io`.
    func io<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as FileOperations.Failure {
            throw RegistryError.io(path: path, reason: failure.description)
        }
    }

    /// The row for a validated adapter.
    func summary(of adapter: LoraAdapter, name: String, digest: String, size: Int64) -> RegistryDatabase.AdapterRow {
        let keys = adapter.modules.keys
        let modules = LlamaModule.allCases.filter { m in keys.contains { $0.module == m } }.map(\.rawValue)
        let layers = Set(keys.map(\.layer)).sorted()
        return RegistryDatabase.AdapterRow(
            name: name, digest: digest, rank: adapter.config.rank, alpha: adapter.config.alpha, useRSLoRA: adapter.config.useRSLoRA,
            targetModules: modules, layers: layers == Array(0..<model.layerCount) ? nil : layers, sizeBytes: size,
            addedAt: Date(), modelFingerprint: modelFingerprint, broken: nil)
    }

    /// LoraModel's refusal as a registry error: shapes, modules and layers that do not fit are `incompatible` (an
    /// adapter for another model: a layer the model has but the adapter lacks usually means it was trained on a
    /// shallower one), the rest `adapterInvalid`. Paths name the source, not the temporary copy.
    static func refusal(_ error: AdapterLoadError, name: String, temporary: String, source: String) -> RegistryError {
        let reason = error.description.replacingOccurrences(of: temporary, with: source)
        switch error {
        case .shapeMismatch, .moduleNotInModel, .targetsNothing, .missingModule:
            return .incompatible(name: name, reason: reason)
        default:
            return .adapterInvalid(name: name, reason: reason)
        }
    }
}
