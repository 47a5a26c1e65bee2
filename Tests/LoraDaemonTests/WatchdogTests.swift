import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The systemd watchdog: `WATCHDOG=1` at half of `WATCHDOG_USEC` while the engine and the socket loop answer,
/// none while the engine is stalled (through the test hook: `LORAD_TEST_HOOKS=1`, SIGUSR2).
@Suite(.serialized)
struct WatchdogTests {
    @Test func pingsAtHalfTheIntervalAndStopWhileTheEngineIsStalled() throws {
        let daemon = try LoradProcess()
        let notify = try NotifyListener(path: daemon.root.appendingPathComponent("notify").path)
        // No WATCHDOG_PID: sd_watchdog_enabled then takes the interval as meant for this process.
        daemon.environment = ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000", "LORAD_TEST_HOOKS": "1"]
        try daemon.launch()
        #expect(notify.wait { $0.has("READY=1") } != nil, "no READY=1:\n\(daemon.stderr)")
        Thread.sleep(forTimeInterval: 3)
        let pings = notify.pings
        #expect((5...8).contains(pings.count), "\(pings.count) pings in about 3 s at a 1 s watchdog")
        let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }
        let mean = gaps.reduce(0, +) / Double(max(gaps.count, 1))
        #expect(mean > 0.4 && mean < 0.6, "mean gap \(mean) s, expected about 0.5 s")

        kill(daemon.pid, SIGUSR2)
        Thread.sleep(forTimeInterval: 0.7)
        let stalledAt = notify.pings.count
        Thread.sleep(forTimeInterval: 2)
        #expect(notify.pings.count == stalledAt, "a stalled engine must stop the pings (\(notify.pings.count - stalledAt) more came)")
        // The socket loop still answers: only the engine is stuck, and that alone withholds the pings.
        #expect(try daemon.request("status").result()["state"] == "serving")

        kill(daemon.pid, SIGUSR2)
        Thread.sleep(forTimeInterval: 1.5)
        #expect(notify.pings.count >= stalledAt + 2, "pings resume once the engine runs again")
        #expect(daemon.stop() == 0)
    }

    @Test func noPingsWithoutAWatchdogOrForAnotherProcess() throws {
        for extra in [[:], ["WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"]] {
            let daemon = try LoradProcess()
            let notify = try NotifyListener(path: daemon.root.appendingPathComponent("notify").path)
            daemon.environment = ["NOTIFY_SOCKET": notify.path, "LORAD_TEST_HOOKS": "1"].merging(extra) { $1 }
            try daemon.launch()
            #expect(notify.wait { $0.has("READY=1") } != nil)
            Thread.sleep(forTimeInterval: 1)
            #expect(notify.pings.isEmpty, "no watchdog asked for this pid (\(extra)), yet \(notify.pings.count) pings")
            #expect(daemon.stop() == 0)
        }
    }
}
