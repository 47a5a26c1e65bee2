import Foundation
import LoraJSON
import Testing

/// `lorctl loras set` while jobs run: it waits for them to drain, says so, and honours --timeout/--on-timeout.
@Suite(.serialized)
struct LorctlLorasTests {
    static let long = ["generate", "Once upon a time", "--max-tokens", "400", "--ignore-eos", "--json"]

    @Test func setWaitsForRunningJobsAndReportsTheDrain() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        let streams = try (0..<3).map { _ in try daemon.startLorctl(Self.long) }
        #expect(try daemon.waitForRunningJobs(3))

        let set = try daemon.runLorctl(["loras", "set", "dragon"])
        // The set is committed only once the jobs that were running have finished.
        let jobsAtReturn = try daemon.request("listJobs").result()["jobs"]?.arrayValue ?? []
        #expect(set.status == 0, "\(set.stderr)")
        #expect(jobsAtReturn.isEmpty, "no job runs any more when loras set returns: \(jobsAtReturn)")
        #expect(set.stdout.hasPrefix("epoch 1: dragon:1 (waited "), "\(set.stdout)")
        #expect(set.stdout.hasSuffix(" for 3 running jobs to finish)\n"), "\(set.stdout)")
        #expect(!set.stderr.contains("waiting"), "no progress when stderr is not a terminal")
        for stream in streams {
            #expect(stream.wait() == 0)
            let result = try JSONValue.parse(stream.text)
            #expect(result["finishReason"] == "length")
            #expect(result["usage"]?["completionTokens"] == 400)
            #expect(result["loras"]?["epoch"] == 0, "a job finishes under the set it started with")
        }
        #expect(try daemon.runLorctl(["loras", "get"]).stdout == "epoch 1: dragon:1\n")

        if LorctlRunner.canUseTerminal {
            let more = try (0..<2).map { _ in try daemon.startLorctl(Self.long) }
            #expect(try daemon.waitForRunningJobs(2))
            // The engine is held for a second (test hook), so the drain outlasts the 200 ms before progress shows.
            kill(daemon.pid, SIGUSR2)
            let pid = daemon.pid
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { kill(pid, SIGUSR2) }
            let shown = try daemon.lorctlOnTerminal(["loras", "set", "snow:0.5"])
            #expect(shown.status == 0)
            #expect(shown.stdout.contains("\r\u{1B}[2Kwaiting for 2 running jobs to finish ("), "\(shown.stdout.debugDescription)")
            #expect(shown.stdout.contains("\r\u{1B}[2Kepoch 2: snow:0.5 (waited "), "the progress line is erased before the result")
            for stream in more { #expect(stream.wait() == 0) }
        }

        let json = try daemon.runLorctl(["loras", "set", "dragon:0.25", "snow", "--json"]).json()
        #expect(json["adapters"] == [["name": "dragon", "scale": 0.25], ["name": "snow", "scale": 1.0]])
        #expect(json["drainedJobs"] == 0)
        #expect(json["waitedMs"] != nil)
        #expect(daemon.stop() == 0)
    }

    @Test func timeoutDurationsAndOnTimeout() throws {
        // One job at a time and 200 long jobs queued behind it: the drain takes seconds even in a release build,
        // so every timeout below certainly passes first.
        let daemon = try LoradProcess(config: "[engine]\nmax_batch_size = 1\n")
        try daemon.start()
        // Durations in any of the accepted forms reach the daemon as timeoutMs.
        for text in ["2m", "1m30s", "45", "1h"] {
            let run = try daemon.runLorctl(["loras", "clear", "--timeout", text])
            #expect(run.status == 0, "--timeout \(text): \(run.stderr)")
        }
        let queue = try daemon.connect()
        queue.write((1...200).map {
            #"{"jsonrpc":"2.0","id":\#($0),"method":"generate","params":{"prompt":"Once upon a time","maxTokens":500,"ignoreEos":true}}"# + "\n"
        }.joined())
        // lorctl's job waits at the back of the queue, so it is still there when the last set cancels.
        let stream = try daemon.startLorctl(["generate", "Once upon a time", "--max-tokens", "500", "--ignore-eos"])
        var queued = 0
        for _ in 0..<500 where queued < 201 {
            queued = try daemon.request("listJobs").result()["jobs"]?.arrayValue?.count ?? 0
            if queued < 201 { usleep(10_000) }
        }
        #expect(queued == 201)
        for (text, milliseconds) in [("250ms", 250), ("0.3", 300), ("0.2s", 200)] {
            let run = try daemon.runLorctl(["loras", "set", "dragon", "--timeout", text])
            #expect(run.status == 1)
            #expect(run.stderr.hasPrefix("lorctl: DrainTimeout: "), "\(run.stderr)")
            #expect(!run.stderr.contains("DrainTimeout: DrainTimeout"), "the name is printed once")
            #expect(run.stderr.contains("after \(milliseconds) ms"), "--timeout \(text) is \(milliseconds) ms: \(run.stderr)")
        }
        #expect(try daemon.runLorctl(["loras", "get", "--json"]).json()["adapters"] == [], "an aborted set changes nothing")
        let cancel = try daemon.runLorctl(["loras", "set", "dragon", "--timeout", "300ms", "--on-timeout", "cancel"])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(cancel.stdout.contains(" jobs still running at the timeout"), "\(cancel.stdout)")
        #expect(stream.wait() == 1, "the cancelled generate says its job was cancelled")
        #expect(daemon.stop() == 0)
    }
}
