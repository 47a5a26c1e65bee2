import Foundation
import LoraJSON
import LoraRegistry

extension Daemon {
    /// `listAdapters`: every registered adapter, with whether it is active, compatible and intact.
    func listAdapters(_ params: JSONValue, _ context: any CallContext) {
        do {
            let active = Set(engine.status().adapters.map(\.name))
            let inUse = activeNames
            let records = try registry.list()
            context.reply(.success(["adapters": .array(records.map {
                Self.json($0, active: active.contains($0.name), inUse: inUse.contains($0.name))
            })]))
        } catch {
            context.reply(.failure(DaemonErrors.map(error)))
        }
    }

    /// `addAdapter {name, path, replace?}`: imports a PEFT adapter directory into the registry (copy, hash,
    /// validate against the model, commit), sending `addAdapter.progress` notifications as it goes.
    func addAdapter(_ params: JSONValue, _ context: any CallContext) {
        guard let name = params["name"]?.stringValue, let path = params["path"]?.stringValue else {
            return context.reply(.failure(InvalidParams("name and path are required strings")))
        }
        let replace = params["replace"]?.boolValue ?? false
        let roots = live.withLock { $0.configuration.importRoots }
        let resolved: String
        do {
            resolved = try ImportPath.resolve(path, roots: roots)
        } catch {
            return context.reply(.failure(error))
        }
        work.async { [self] in
            do {
                let record = try registry.importAdapter(
                    name: name, from: URL(fileURLWithPath: resolved), replace: replace, activeNames: activeNames,
                    progress: { step in _ = context.notify("addAdapter.progress", ["name": .string(name), "step": .string("\(step)")]) })
                registryChanged()
                loaded.prune(keeping: Set((try? registry.list())?.map(\.digest) ?? []))
                logger.info("adapter added", metadata: ["adapter": "\(name)", "digest": "\(record.digest)", "peer_uid": "\(context.peerUID)"])
                context.reply(.success(Self.json(record, active: false, inUse: false)))
            } catch {
                context.reply(.failure(DaemonErrors.map(error)))
            }
        }
    }

    /// `removeAdapter {name}`: refused while the adapter is active.
    func removeAdapter(_ params: JSONValue, _ context: any CallContext) {
        guard let name = params["name"]?.stringValue else { return context.reply(.failure(InvalidParams("name is a required string"))) }
        work.async { [self] in
            do {
                try registry.remove(name: name, activeNames: activeNames)
                registryChanged()
                loaded.prune(keeping: Set((try? registry.list())?.map(\.digest) ?? []))
                logger.info("adapter removed", metadata: ["adapter": "\(name)", "peer_uid": "\(context.peerUID)"])
                context.reply(.success(["name": .string(name), "removed": .bool(true)]))
            } catch {
                context.reply(.failure(DaemonErrors.map(error)))
            }
        }
    }

    /// `verifyAdapters {name?}`: re-hashes stored files; a mismatch marks the adapter broken.
    func verifyAdapters(_ params: JSONValue, _ context: any CallContext) {
        let name = params["name"]?.stringValue
        verifyQueue.async { [self] in
            do {
                let outcomes = try registry.verify(name: name)
                registryChanged()
                let list: [JSONValue] = outcomes.map { o in
                    var fields: [(String, JSONValue)] = [("name", .string(o.name)), ("ok", .bool(o.ok))]
                    if let problem = o.problem { fields.append(("problem", .string(problem))) }
                    return .object(fields)
                }
                context.reply(.success(["adapters": .array(list)]))
            } catch {
                registryChanged()
                context.reply(.failure(DaemonErrors.map(error)))
            }
        }
    }

    /// One adapter as `listAdapters` and `addAdapter` show it.
    /// `active`: in the global set; `inUse`: in the global set or named by a queued or running job.
    static func json(_ r: AdapterRecord, active: Bool, inUse: Bool) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("name", .string(r.name)), ("digest", .string(r.digest)), ("rank", .int(r.rank)), ("alpha", .double(r.alpha)),
            ("rsLoRA", .bool(r.useRSLoRA)), ("targetModules", .array(r.targetModules.map { .string($0) })),
        ]
        if let layers = r.layers { fields.append(("layers", .array(layers.map { .int($0) }))) }
        fields += [
            ("sizeBytes", .int64(r.sizeBytes)), ("addedAt", .string(ISO8601DateFormatter().string(from: r.addedAt))),
            ("active", .bool(active)), ("inUse", .bool(inUse)), ("compatible", .bool(r.compatible)),
        ]
        if let broken = r.broken { fields.append(("broken", .string(broken))) }
        return .object(fields)
    }
}

/// Where `addAdapter` may read from: the path with every symlink resolved, inside one of the configured import
/// roots (themselves resolved) when there are any.
enum ImportPath {
    static func resolve(_ path: String, roots: [String]) throws -> String {
        guard path.hasPrefix("/") else {
            throw InvalidParams("path must be absolute (the daemon does not share the client's working directory), got \(path)")
        }
        guard let real = realPath(path) else {
            throw DaemonError(.adapterInvalid, "cannot resolve \(path): \(String(cString: strerror(errno))); check that it exists and that lorad may read it",
                              details: [("path", .string(path))])
        }
        guard !roots.isEmpty else { return real }
        let resolvedRoots = roots.compactMap(realPath)
        func inside(_ candidate: String) -> Bool {
            resolvedRoots.contains { r in candidate == r || candidate.hasPrefix(r.hasSuffix("/") ? r : r + "/") }
        }
        guard inside(real) else {
            throw DaemonError(.pathNotAllowed, "\(path) (\(real)) is outside the import roots \(roots.joined(separator: ", ")); copy the adapter under one of them",
                              details: [("path", .string(path)), ("resolved", .string(real))])
        }
        // The files too: a directory inside a root could hold symlinks to files outside it.
        for file in ["adapter_config.json", "adapter_model.safetensors"] {
            guard let target = realPath(real + "/" + file) else { continue }
            guard inside(target) else {
                throw DaemonError(.pathNotAllowed, "\(real)/\(file) leads to \(target), outside the import roots \(roots.joined(separator: ", ")); copy the file itself under a root",
                                  details: [("path", .string(path)), ("resolved", .string(target))])
            }
        }
        return real
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}
