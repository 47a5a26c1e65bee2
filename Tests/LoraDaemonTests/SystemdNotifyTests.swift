import Foundation
import LoraJSON
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What lorad tells systemd through `NOTIFY_SOCKET` on a start, a reload, a stop and a failed start.
@Suite(.serialized)
struct SystemdNotifyTests {
    @Test func startReloadAndStopAreAnnouncedInOrder() throws {
        let daemon = try LoradProcess()
        let notify = try NotifyListener(path: daemon.root.appendingPathComponent("notify").path)
        daemon.environment = ["NOTIFY_SOCKET": notify.path]
        try daemon.launch()
        let ready = try #require(notify.wait { $0.has("READY=1") }, "no READY=1:\n\(daemon.stderr)")
        // By READY=1 the socket is listening: a client is served at once.
        #expect(try daemon.request("status").result()["state"] == "serving")
        let before = notify.messages[..<ready]
        let statuses = before.compactMap { $0.value("STATUS") }
        let loading = statuses.firstIndex { $0.hasPrefix("loading the model") }
        let restoring = statuses.firstIndex { $0.hasPrefix("restoring adapters") }
        #expect(loading != nil && restoring != nil && loading! < restoring!, "statuses before READY: \(statuses)")
        #expect(before.contains { $0.value("EXTEND_TIMEOUT_USEC").flatMap(UInt64.init) ?? 0 > 0 }, "the start timeout is extended while loading")
        #expect(notify.messages[ready].value("STATUS")?.hasPrefix("serving 0 jobs") == true)

        let sent = Self.monotonicMicroseconds()
        kill(daemon.pid, SIGHUP)
        let reloading = try #require(notify.wait(from: ready + 1) { $0.has("RELOADING=1") })
        let stamp = try #require(notify.messages[reloading].value("MONOTONIC_USEC").flatMap(UInt64.init))
        #expect(stamp >= sent && stamp < sent + 10_000_000, "MONOTONIC_USEC is CLOCK_MONOTONIC at the reload")
        #expect(notify.wait(from: reloading + 1) { $0.has("READY=1") } != nil, "READY=1 follows the reload")

        #expect(daemon.stop() == 0)
        let stopping = notify.messages.firstIndex { $0.has("STOPPING=1") }
        #expect(stopping != nil && stopping! > reloading)
        #expect(notify.messages.filter { $0.has("READY=1") }.count == 2)
    }

    @Test func anUnreadableModelReportsStatusAndErrnoAndExitsOne() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/lorad-model")
        let daemon = try LoradProcess(model: missing)
        let notify = try NotifyListener(path: daemon.root.appendingPathComponent("notify").path)
        daemon.environment = ["NOTIFY_SOCKET": notify.path]
        try daemon.launch()
        #expect(daemon.waitForExit() == 1)
        let failure = try #require(notify.wait(timeout: 5) { $0.value("ERRNO") != nil })
        #expect(notify.messages[failure].value("ERRNO") == "\(ENOENT)")
        #expect(notify.messages[failure].value("STATUS")?.contains(missing.path) == true)
        #expect(!notify.messages.contains { $0.has("READY=1") })
    }

    @Test func aBadConfigurationExitsSeventyEight() throws {
        let daemon = try LoradProcess(config: "[server]\nmax_connections = 0\n")
        let notify = try NotifyListener(path: daemon.root.appendingPathComponent("notify").path)
        daemon.environment = ["NOTIFY_SOCKET": notify.path]
        try daemon.launch()
        #expect(daemon.waitForExit() == 78)
        let failure = try #require(notify.wait(timeout: 5) { $0.value("ERRNO") != nil })
        #expect(notify.messages[failure].value("ERRNO") == "\(EINVAL)")
        #expect(notify.messages[failure].value("STATUS")?.contains("max_connections") == true)
        #expect(!notify.messages.contains { $0.has("READY=1") })
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
