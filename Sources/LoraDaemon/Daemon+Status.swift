import Foundation
import LoraEngine
import LoraJSON

extension Daemon {
    /// `status`: version, model, engine load and capacity, the active adapters, the registry, uptime.
    func status(_ params: JSONValue, _ context: any CallContext) {
        context.reply(.success(statusJSON()))
    }

    func statusJSON() -> JSONValue {
        let s = engine.status()
        let c = engine.configuration
        let engineJSON: JSONValue = [
            "runningJobs": .int(s.runningJobs), "queuedJobs": .int(s.queuedJobs), "maxBatchSize": .int(c.maxBatchSize),
            "maxQueuedJobs": .int(c.maxQueuedJobs), "pendingSetLoras": .int(s.pendingSetLoras), "steps": .int(s.steps),
            "generatedTokens": .int(s.generatedTokens),
            "kvCache": [
                "pageSize": .int(c.pageSize), "totalPages": .int(s.totalKVPages), "freePages": .int(s.freeKVPages),
                "totalTokens": .int(s.totalKVPages * c.pageSize), "usedTokens": .int((s.totalKVPages - s.freeKVPages) * c.pageSize),
                "precision": .string(c.kvCachePrecision.rawValue),
            ],
            "loraMode": .string(c.loraMode.rawValue),
            "adapterCache": [
                "entries": .int(s.adapterCache.entries), "entriesInUse": .int(s.adapterCache.entriesInUse),
                "bytes": .int(s.adapterCache.bytes), "limitBytes": .int(s.adapterCache.limitBytes),
                "hits": .int(s.adapterCache.hits), "builds": .int(s.adapterCache.builds), "evictions": .int(s.adapterCache.evictions),
            ],
        ]
        var loras = LorasView.json(epoch: s.epoch, adapters: s.adapters).objectValue ?? []
        if let restoreProblem { loras.append(("restoreProblem", .string(restoreProblem))) }
        var registryJSON: [(String, JSONValue)] = [("stateDirectory", .string(startConfiguration.stateDirectory))]
        if let counts = registryCounts() {
            registryJSON += [("adapters", .int(counts.adapters)), ("broken", .int(counts.broken)), ("incompatible", .int(counts.incompatible))]
        }
        return [
            "version": .string(Self.version), "state": .string(stopping.load(ordering: .relaxed) ? "stopping" : "serving"),
            "model": modelInfo.json, "engine": engineJSON, "loras": .object(loras), "registry": .object(registryJSON),
            "uptimeSeconds": .double(uptimeSeconds.rounded(toPlaces: 3)), "pid": .int(Int(getpid())),
        ]
    }

    /// The registry's counts for `status`, read from the database only after a change (`status` is what monitors
    /// poll, and a query per call would cost more than the rest of the reply).
    func registryCounts() -> RegistryCounts? {
        if let cached = cachedRegistryCounts.withLock({ $0 }) { return cached }
        let generation = registryGeneration.load(ordering: .acquiring)
        guard let records = try? registry.list() else { return nil }
        let counts = RegistryCounts(adapters: records.count, broken: records.filter { $0.broken != nil }.count,
                                    incompatible: records.filter { !$0.compatible }.count)
        // Kept only if no change happened while they were read.
        cachedRegistryCounts.withLock { if registryGeneration.load(ordering: .acquiring) == generation { $0 = counts } }
        return counts
    }

    /// Forgets the cached counts: called after every change to the registry.
    func registryChanged() {
        cachedRegistryCounts.withLock { cached in
            registryGeneration.add(1, ordering: .acquiringAndReleasing)
            cached = nil
        }
    }

    /// `reload`: re-reads the configuration file and applies what can change live (access rules, import roots,
    /// the default setLoras timeout, the shutdown grace, the log level); reports the rest as needing a restart.
    func reload(_ params: JSONValue, _ context: any CallContext) {
        work.async { [self] in
            do {
                let outcome = try reloadConfiguration()
                context.reply(.success(["applied": .array(outcome.applied.map { .string($0) }),
                                        "requiresRestart": .array(outcome.requiresRestart.map { .string($0) })]))
            } catch {
                context.reply(.failure(InvalidParams("the configuration was not reloaded, nothing changed: \(error)")))
            }
        }
    }

    /// What a reload changed and what it could not.
    struct ReloadOutcome: Sendable {
        var applied: [String] = []
        var requiresRestart: [String] = []
    }

    /// Re-reads the configuration (file, environment and the flags lorad started with) and applies it.
    /// systemd hears `RELOADING=1` first and `READY=1` after, whether it worked or not.
    func reloadConfiguration() throws -> ReloadOutcome {
        notifier.reloading(status: "reloading the configuration")
        let next: DaemonConfiguration
        do {
            next = try loader.load()
        } catch {
            notifier.ready(status: "the reload failed, nothing changed: \(error)")
            throw error
        }
        defer { notifier.ready(status: serviceStatus()) }
        var outcome = ReloadOutcome()
        live.withLock { live in
            let old = live.configuration
            if next.adminUsers != old.adminUsers || next.adminGroups != old.adminGroups {
                live.authorization = Authorization(users: next.adminUsers, groups: next.adminGroups)
                outcome.applied.append("access.admin_users/admin_groups")
            }
            if next.importRoots != old.importRoots { outcome.applied.append("access.import_roots") }
            if next.defaultSetLorasTimeoutMs != old.defaultSetLorasTimeoutMs { outcome.applied.append("loras.default_timeout_ms") }
            if next.shutdownGraceSeconds != old.shutdownGraceSeconds { outcome.applied.append("shutdown.grace_seconds") }
            if next.logLevel != old.logLevel { outcome.applied.append("log.level") }
            let fixed: [(String, Bool)] = [
                ("model.path", next.modelPath != startConfiguration.modelPath), ("model.weights", next.weightPrecision != startConfiguration.weightPrecision),
                ("server.socket", next.socketPath != startConfiguration.socketPath),
                ("server.fd_name", next.fdName != startConfiguration.fdName), ("server.socket_mode", next.socketMode != startConfiguration.socketMode),
                ("server.max_message_bytes", next.maxMessageBytes != startConfiguration.maxMessageBytes),
                ("server.max_connections", next.maxConnections != startConfiguration.maxConnections),
                ("server.max_queued_bytes_per_connection", next.maxQueuedBytesPerConnection != startConfiguration.maxQueuedBytesPerConnection),
                ("state.directory", next.stateDirectory != startConfiguration.stateDirectory), ("engine", next.engine != startConfiguration.engine),
            ]
            outcome.requiresRestart = fixed.filter(\.1).map(\.0)
            // Only what applies live is taken; the rest stays as it started, so `status` keeps telling the truth.
            var kept = startConfiguration
            kept.adminUsers = next.adminUsers
            kept.adminGroups = next.adminGroups
            kept.importRoots = next.importRoots
            kept.defaultSetLorasTimeoutMs = next.defaultSetLorasTimeoutMs
            kept.shutdownGraceSeconds = next.shutdownGraceSeconds
            kept.logLevel = next.logLevel
            kept.configFile = next.configFile
            live.configuration = kept
        }
        LogLevelSwitch.shared.level = next.logLevel
        logger.notice("configuration reloaded", metadata: ["applied": "\(outcome.applied)", "requires_restart": "\(outcome.requiresRestart)"])
        return outcome
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let p = pow(10, Double(places))
        return (self * p).rounded() / p
    }
}
