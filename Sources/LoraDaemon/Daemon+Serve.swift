import Dispatch
import Foundation
import LoraJSON
import LoraRPC

extension Daemon {
    /// Starts listening: on the configured socket path (a stale socket file from a crash is replaced; a live
    /// one, another lorad, is an error).
    public func startServing() throws {
        let settings = live.withLock { $0.configuration }
        var options = RPCServerConfiguration()
        options.maxMessageBytes = settings.maxMessageBytes
        options.maxConnections = settings.maxConnections
        options.maxPendingOutputBytes = settings.maxQueuedBytesPerConnection
        options.socketMode = settings.socketMode
        options.connectionLimitError = DaemonError(
            .busy, "lorad already serves \(settings.maxConnections) connections (server.max_connections); close idle clients or raise the limit",
            details: [("limit", .int(settings.maxConnections))]).rpcError
        let server = UnixSocketServer(
            methods: RPCMethodTable(methods: methodTable(), title: "lorad", version: Self.version), configuration: options, logger: logger,
            authorize: { [self] peer, _ in isAdmin(uid: peer.uid, gid: peer.gid) },
            denied: { peer, method in
                DaemonError(.permissionDenied,
                            "\(method) changes the daemon and needs an admin; uid \(peer.uid) is not one (root, lorad's own user, or a user in access.admin_users / access.admin_groups)",
                            details: [("method", .string(method)), ("uid", .int(Int(peer.uid)))]).rpcError
            })
        do {
            let directory = (settings.socketPath as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try server.listen(path: settings.socketPath)
            server.start()
        } catch {
            throw DaemonStartError.socket(reason: "\(settings.socketPath): \(error)")
        }
        serverBox.withLock { $0 = server }
        logger.notice("lorad is ready", metadata: ["socket": "\(settings.socketPath)", "model": "\(modelInfo.path)",
                                                   "demo": "\(modelInfo.demo)", "epoch": "\(engine.status().epoch)"])
    }

    func isAdmin(uid: UInt32, gid: UInt32) -> Bool {
        live.withLock { $0.authorization }.isAdmin(uid: uid, gid: gid)
    }

    /// Stops gracefully: no new connections or jobs; running jobs may finish for `shutdown.grace_seconds`, then
    /// the rest are cancelled; replies are flushed; the registry is closed. `completion` runs once, after all that.
    public func shutdown(completion: @escaping @Sendable () -> Void) {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let server = serverBox.withLock { $0 }
        server?.stopAccepting()
        let grace = live.withLock { $0.configuration.shutdownGraceSeconds }
        let deadline = DispatchTime.now() + grace
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            var announced = false
            while true {
                let s = engine.status()
                if s.runningJobs + s.queuedJobs == 0 { break }
                if DispatchTime.now() >= deadline {
                    logger.notice("shutdown grace over: cancelling the remaining jobs", metadata: ["jobs": "\(s.runningJobs + s.queuedJobs)"])
                    break
                }
                if !announced {
                    logger.notice("waiting for running jobs to finish", metadata: ["jobs": "\(s.runningJobs + s.queuedJobs)", "grace_seconds": "\(grace)"])
                    announced = true
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            // Cancels what is left (their callers get finishReason "cancelled") and stops the engine thread.
            engine.shutdown()
            server?.stop(flushTimeout: .seconds(2))
            registry.close()
            completion()
        }
    }
}
