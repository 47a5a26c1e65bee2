import CSystemd
import Foundation
import Synchronization

/// Tells the service manager what lorad is doing, through systemd's notification protocol (`sd_notify(3)`):
/// readiness, reload and stop, a one-line status, start-timeout extensions and watchdog pings. Every call is a
/// no-op when `$NOTIFY_SOCKET` is not set (lorad run by hand), so callers never check.
public final class ServiceNotifier: Sendable {
    /// Whether a notification socket was given.
    public let isEnabled: Bool
    /// The last `STATUS=` sent, so that an unchanged status is not sent again.
    private let lastStatus = Mutex<String?>(nil)

    /// A notifier for this process's environment.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        isEnabled = !(environment["NOTIFY_SOCKET"] ?? "").isEmpty
    }

    /// `STATUS=text`, only when it differs from the last one sent.
    public func status(_ text: String) {
        let line = Self.oneLine(text)
        let changed = lastStatus.withLock { last -> Bool in
            guard last != line else { return false }
            last = line
            return true
        }
        if changed { send(["STATUS=\(line)"]) }
    }

    /// `READY=1` with a status: the model is loaded, the registry restored and the socket listening (or a
    /// reload finished).
    public func ready(status text: String) {
        let line = Self.oneLine(text)
        lastStatus.withLock { $0 = line }
        send(["READY=1", "STATUS=\(line)"])
    }

    /// `RELOADING=1` with the `CLOCK_MONOTONIC` time systemd needs to tell this reload from an earlier one;
    /// `ready(status:)` must follow, whether the reload worked or not.
    public func reloading(status text: String) {
        let line = Self.oneLine(text)
        lastStatus.withLock { $0 = line }
        send(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())", "STATUS=\(line)"])
    }

    /// `STOPPING=1`: a graceful stop began.
    public func stopping(status text: String) {
        let line = Self.oneLine(text)
        lastStatus.withLock { $0 = line }
        send(["STOPPING=1", "STATUS=\(line)"])
    }

    /// `EXTEND_TIMEOUT_USEC=`: the start (a long model load) needs `seconds` more from now.
    public func extendTimeout(seconds: Double) {
        send(["EXTEND_TIMEOUT_USEC=\(UInt64(max(0, seconds) * 1_000_000))"])
    }

    /// `WATCHDOG=1`: the engine and the socket loop answered since the last ping.
    public func watchdog() {
        send(["WATCHDOG=1"])
    }

    /// `STATUS=` and `ERRNO=` for a start that failed: `systemctl status` shows why.
    public func startFailed(status text: String, errno code: Int32) {
        send(["STATUS=\(Self.oneLine(text))", "ERRNO=\(code)"])
    }

    /// The watchdog interval systemd set for this process (`sd_watchdog_enabled(3)`: `$WATCHDOG_USEC`, and
    /// `$WATCHDOG_PID` when given must be this pid), in microseconds; nil when there is no watchdog.
    public static func watchdogMicroseconds() -> UInt64? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return usec
    }

    private func send(_ assignments: [String]) {
        guard isEnabled else { return }
        // A failed notification is not worth stopping for: the manager then sees a timeout or no status.
        _ = sd_notify(0, assignments.joined(separator: "\n"))
    }

    /// A status is one line; newlines would start new assignments.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
