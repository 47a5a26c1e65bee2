import Dispatch
import Foundation
import LoraRPC

extension Daemon {
    /// The one-line `STATUS=` for what the daemon is doing now.
    func serviceStatus() -> String {
        let s = engine.status()
        let jobs = s.runningJobs + s.queuedJobs
        if stopping.load(ordering: .relaxed) { return "stopping: \(jobs) jobs to finish or cancel" }
        if s.pendingSetLoras > 0 {
            return "draining for setLoras: \(s.runningJobs) jobs running, \(s.queuedJobs) queued, \(s.pendingSetLoras) setLoras pending"
        }
        return "serving \(s.runningJobs) jobs (\(s.queuedJobs) queued), adapter epoch \(s.epoch)"
    }

    /// Under systemd: keeps `STATUS=` current (sent only when it changes) and, when systemd set a watchdog for
    /// this process, feeds it from the engine's and the socket queue's answers (`ServiceWatchdog`).
    func startServiceMonitors(server: UnixSocketServer) {
        guard notifier.isEnabled else { return }
        let timer = RepeatingTimer(label: "lorad.service-status", first: .now() + 0.25, every: .milliseconds(250), leeway: .milliseconds(50)) {
            [weak self] in
            guard let self else { return }
            notifier.status(serviceStatus())
        }
        statusTimer.withLock { $0 = timer }
        guard let interval = ServiceNotifier.watchdogMicroseconds() else { return }
        let engine = self.engine
        let probes: [(name: String, send: ServiceWatchdog.Probe)] = [
            ("the engine", { answer in engine.probe(answer) }),
            ("the socket loop", { [weak server] answer in
                guard let server else { return false }
                server.probe(answer)
                return true
            }),
        ]
        watchdog.withLock { $0 = ServiceWatchdog(intervalMicroseconds: interval, notifier: notifier, probes: probes, logger: logger) }
    }

    func stopServiceMonitors() {
        watchdog.withLock { $0?.cancel() }
        statusTimer.withLock { $0?.cancel() }
    }

    /// TEST ONLY, reached only through `DaemonRunner` when `LORAD_TEST_HOOKS=1`: the first call holds the engine
    /// thread (as a forward pass that never ends would), the next releases it. The watchdog tests use it to check
    /// that a stuck engine stops the pings.
    func toggleTestEngineStall() {
        let stall = !testStall.load(ordering: .acquiring)
        testStall.store(stall, ordering: .releasing)
        logger.warning("test hook: \(stall ? "stalling" : "releasing") the engine thread")
        guard stall else { return }
        engine.probe { [self] in
            while testStall.load(ordering: .acquiring) { usleep(10_000) }
        }
    }
}
