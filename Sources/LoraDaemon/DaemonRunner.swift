import Dispatch
import Foundation
import Logging

/// Runs lorad in the foreground: starts the daemon, serves until SIGTERM or SIGINT (graceful stop) and reloads
/// on SIGHUP, telling systemd each step (`ServiceNotifier`). Returns the process's exit status (`DaemonExit`).
public enum DaemonRunner {
    /// How often, while the model loads, lorad asks systemd for more start time, and how much it asks for.
    static let extendEvery = 5
    static let extendBy = 20

    public static func run(configuration: DaemonConfiguration, loader: ConfigurationLoader, logger: Logger,
                           notifier: ServiceNotifier = ServiceNotifier(),
                           environment: [String: String] = ProcessInfo.processInfo.environment) -> Int32 {
        // A client that disconnects mid-write must not kill the daemon; the signals below are taken by
        // Dispatch sources, so their default actions are turned off first.
        signal(SIGPIPE, SIG_IGN)
        let testHooks = environment["LORAD_TEST_HOOKS"] == "1"
        let handled = [SIGTERM, SIGINT, SIGHUP] + (testHooks ? [SIGUSR2] : [])
        for s in handled { signal(s, SIG_IGN) }
        let daemon: Daemon
        // A large checkpoint can take longer than TimeoutStartSec=: while it loads, systemd is asked for more
        // time every few seconds, so a load that progresses is never killed and a hung one still is.
        let extender = notifier.isEnabled
            ? RepeatingTimer(label: "lorad.extend-timeout", every: .seconds(extendEvery)) { notifier.extendTimeout(seconds: Double(extendBy)) }
            : nil
        do {
            defer { extender?.cancel() }
            daemon = try Daemon(configuration: configuration, loader: loader, logger: logger, notifier: notifier)
            try daemon.startServing()
        } catch {
            logger.critical("lorad cannot start: \(error)")
            let (code, errno) = exitStatus(for: error)
            notifier.startFailed(status: "lorad cannot start: \(error)", errno: errno)
            return code
        }
        let done = DispatchSemaphore(value: 0)
        let queue = DispatchQueue(label: "lorad.signals")
        var sources: [DispatchSourceSignal] = []
        for s in [SIGTERM, SIGINT] {
            let source = DispatchSource.makeSignalSource(signal: s, queue: queue)
            source.setEventHandler {
                logger.notice("\(s == SIGTERM ? "SIGTERM" : "SIGINT") received: stopping")
                daemon.shutdown { done.signal() }
            }
            source.resume()
            sources.append(source)
        }
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
        hup.setEventHandler {
            do {
                _ = try daemon.reloadConfiguration()
            } catch {
                logger.error("SIGHUP: the configuration was not reloaded, nothing changed: \(error)")
            }
        }
        hup.resume()
        sources.append(hup)
        if testHooks {
            // TEST ONLY (see docs/operations.md): never set LORAD_TEST_HOOKS in production.
            logger.warning("LORAD_TEST_HOOKS=1: SIGUSR2 stalls and releases the engine thread (a test hook)")
            let usr2 = DispatchSource.makeSignalSource(signal: SIGUSR2, queue: queue)
            usr2.setEventHandler { daemon.toggleTestEngineStall() }
            usr2.resume()
            sources.append(usr2)
        }
        done.wait()
        withExtendedLifetime(sources) {}
        logger.notice("lorad stopped")
        return DaemonExit.success
    }

    /// The exit status and `ERRNO=` for a start-up failure: 78 (EX_CONFIG) for the configuration, 1 otherwise.
    static func exitStatus(for error: any Error) -> (code: Int32, errno: Int32) {
        switch error {
        case is ConfigurationError: return (DaemonExit.configuration, EINVAL)
        case let start as DaemonStartError: return (DaemonExit.startFailure, start.errnoValue)
        default: return (DaemonExit.startFailure, EIO)
        }
    }
}
