import Dispatch
import Foundation
import Logging

/// Runs lorad in the foreground: starts the daemon, serves until SIGTERM or SIGINT (graceful stop) and reloads
/// on SIGHUP. Returns the process's exit status (`DaemonExit`).
public enum DaemonRunner {
    public static func run(configuration: DaemonConfiguration, loader: ConfigurationLoader, logger: Logger) -> Int32 {
        // A client that disconnects mid-write must not kill the daemon; the signals below are taken by
        // Dispatch sources, so their default actions are turned off first.
        signal(SIGPIPE, SIG_IGN)
        for s in [SIGTERM, SIGINT, SIGHUP] { signal(s, SIG_IGN) }
        let daemon: Daemon
        do {
            daemon = try Daemon(configuration: configuration, loader: loader, logger: logger)
            try daemon.startServing()
        } catch {
            logger.critical("lorad cannot start: \(error)")
            return DaemonExit.startFailure
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
        done.wait()
        withExtendedLifetime(sources) {}
        logger.notice("lorad stopped")
        return DaemonExit.success
    }
}
