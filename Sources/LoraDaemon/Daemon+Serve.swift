import Dispatch
import Foundation
import LoraJSON
import LoraRPC

extension Daemon {
    /// Starts listening: on the socket inherited from systemd (socket activation, chosen by `server.fd_name`; its
    /// file is never removed), else on the configured path (a stale socket file from a crash is replaced; a live
    /// one, another lorad, is an error). Then tells systemd READY=1 and starts the status and watchdog feeds.
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
        let endpoint: String
        do {
            if let fd = try SocketActivation.choose(SocketActivation.inheritedDescriptors(), name: settings.fdName) {
                // The socket unit owns the file (its path, mode and group); lorad never removes it.
                try server.adopt(listeningDescriptor: fd)
                endpoint = "inherited fd \(fd) (\(settings.fdName))"
            } else {
                let directory = (settings.socketPath as NSString).deletingLastPathComponent
                if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
                try server.listen(path: settings.socketPath)
                endpoint = settings.socketPath
            }
            server.start()
        } catch let error as DaemonStartError {
            throw error
        } catch let error as RPCServerError {
            throw DaemonStartError.socket(reason: "\(settings.socketPath): \(error)", errno: Self.errno(of: error))
        } catch {
            throw DaemonStartError.socket(reason: "\(settings.socketPath): \(error)", errno: EIO)
        }
        serverBox.withLock { $0 = server }
        logger.notice("lorad is ready", metadata: ["socket": "\(endpoint)", "model": "\(modelInfo.path)",
                                                   "demo": "\(modelInfo.demo)", "epoch": "\(engine.status().epoch)"])
        notifier.ready(status: serviceStatus())
        startServiceMonitors(server: server)
    }

    /// The errno of a socket failure, for systemd's `ERRNO=`.
    static func errno(of error: RPCServerError) -> Int32 {
        switch error {
        case .pathTooLong: return ENAMETOOLONG
        case .alreadyListening: return EADDRINUSE
        case .notASocket: return ENOTSOCK
        case .notAListeningSocket: return ENOTSOCK
        case .alreadyStarted: return EALREADY
        case let .system(_, _, code, _): return code
        }
    }

    func isAdmin(uid: UInt32, gid: UInt32) -> Bool {
        live.withLock { $0.authorization }.isAdmin(uid: uid, gid: gid)
    }

    /// Stops gracefully: no new connections or jobs; running jobs may finish for `shutdown.grace_seconds`, then
    /// the rest are cancelled; replies are flushed; the registry is closed. `completion` runs once, after all that.
    public func shutdown(completion: @escaping @Sendable () -> Void) {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        testStall.store(false, ordering: .releasing)
        let running = engine.status()
        notifier.stopping(status: "stopping: \(running.runningJobs + running.queuedJobs) jobs to finish or cancel")
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
            stopServiceMonitors()
            server?.stop(flushTimeout: .seconds(2))
            registry.close()
            completion()
        }
    }
}
