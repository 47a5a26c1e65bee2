import Dispatch
import Logging
import Synchronization

/// Feeds systemd's watchdog from real progress, not from a timer: every half interval it sends each probe (the
/// engine thread's and the socket queue's) and pings `WATCHDOG=1` only when all of them have answered. While a
/// round is unanswered no new round starts, so a stuck engine or socket loop stops the pings and systemd
/// restarts the service after `WatchdogSec=`.
final class ServiceWatchdog: Sendable {
    /// Sends a probe whose answer calls the closure given; returns false when the probed part has stopped.
    typealias Probe = @Sendable (@escaping @Sendable () -> Void) -> Bool

    private struct State {
        /// Probes of the current round not answered yet; 0 when no round is open.
        var outstanding = 0
        /// Rounds started, so that a late answer is counted once, for its own round.
        var round: UInt64 = 0
        /// Whether the "not answering" warning was logged for the open round.
        var warned = false
    }

    private let notifier: ServiceNotifier
    private let probes: [(name: String, send: Probe)]
    private let logger: Logger
    private let state = Mutex(State())
    private let timer = Mutex<RepeatingTimer?>(nil)

    /// Starts pinging every `intervalMicroseconds / 2` as long as every probe answers.
    init(intervalMicroseconds: UInt64, notifier: ServiceNotifier, probes: [(name: String, send: Probe)], logger: Logger) {
        self.notifier = notifier
        self.probes = probes
        self.logger = logger
        let half = DispatchTimeInterval.microseconds(Int(min(intervalMicroseconds / 2, UInt64(Int32.max))))
        let timer = RepeatingTimer(label: "lorad.watchdog", every: half, leeway: .milliseconds(5)) { [weak self] in self?.tick() }
        self.timer.withLock { $0 = timer }
        logger.info("systemd watchdog enabled", metadata: ["interval_ms": "\(intervalMicroseconds / 1000)"])
    }

    /// Stops pinging (a graceful stop: systemd no longer watches).
    func cancel() { timer.withLock { $0?.cancel() } }

    private func tick() {
        let round = state.withLock { state -> UInt64? in
            guard state.outstanding == 0 else { return nil }
            state.round += 1
            state.outstanding = probes.count
            state.warned = false
            return state.round
        }
        guard let round else {
            let first = state.withLock { state -> Bool in
                defer { state.warned = true }
                return !state.warned
            }
            if first { logger.warning("systemd watchdog: the engine or the socket loop has not answered; withholding the watchdog ping") }
            return
        }
        for probe in probes {
            let sent = probe.send { [weak self] in self?.answered(round: round) }
            if !sent { logger.debug("systemd watchdog: \(probe.name) has stopped; no more pings") }
        }
    }

    private func answered(round: UInt64) {
        let complete = state.withLock { state -> Bool in
            guard state.round == round, state.outstanding > 0 else { return false }
            state.outstanding -= 1
            return state.outstanding == 0
        }
        if complete { notifier.watchdog() }
    }
}
