import Foundation
import LoraJSON
import Testing

/// `lorctl generate`: the prompt from the argument or stdin, text streamed to stdout as it is decoded, `--json`,
/// the sampling options, and Ctrl-C cancelling the job.
@Suite(.serialized)
struct LorctlGenerateTests {
    @Test func streamedTextEqualsTheNonStreamingReply() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let reference = try daemon.request("generate", ["prompt": "Once upon a time", "maxTokens": 48, "temperature": 0]).result()
        let text = try #require(reference["text"]?.stringValue)

        let streamed = try daemon.runLorctl(["generate", "Once upon a time", "--max-tokens", "48", "--temperature", "0"])
        #expect(streamed.status == 0, "\(streamed.stderr)")
        #expect(streamed.stdout == text, "stdout receives exactly the text when it is not a terminal")
        #expect(streamed.stderr.isEmpty, "no summary when stderr is not a terminal")
        let piped = try daemon.runLorctl(["generate", "--max-tokens", "48", "--temperature", "0"], stdin: "Once upon a time\n")
        #expect(piped.stdout == text, "the prompt from stdin, less its newline")
        let dash = try daemon.runLorctl(["generate", "-", "--max-tokens", "48", "--temperature", "0"], stdin: "Once upon a time")
        #expect(dash.stdout == text)

        let json = try daemon.runLorctl(["generate", "Once upon a time", "--max-tokens", "48", "--temperature", "0", "--json"]).json()
        #expect(json["text"] == reference["text"])
        #expect(json["tokens"] == reference["tokens"])
        #expect(json["finishReason"] == "length")
        #expect(json["usage"] == reference["usage"])
        #expect(json["jobId"]?.numberValue?.int != nil)
        #expect(json["timing"]?["tokensPerSecond"] != nil)

        // --stop: the text ends before the stop string.
        let words = text.split(separator: " ")
        let stop = try #require(words.dropFirst(4).first.map(String.init))
        let stopped = try daemon.runLorctl(["generate", "Once upon a time", "--max-tokens", "48", "--temperature", "0", "--stop", stop, "--stop", "zzzz"])
        #expect(stopped.stdout == String(text[..<(try #require(text.range(of: stop))).lowerBound]))
        // --seed, --top-k, --top-p: the same seed gives the same sampled text.
        let sampled = ["generate", "Once upon a time", "--max-tokens", "32", "--temperature", "1", "--top-k", "40", "--top-p", "0.9", "--seed", "7"]
        let first = try daemon.runLorctl(sampled), second = try daemon.runLorctl(sampled)
        #expect(first.status == 0)
        #expect(first.stdout == second.stdout)
        #expect(first.stdout == (try daemon.request("generate", ["prompt": "Once upon a time", "maxTokens": 32, "temperature": 1, "topK": 40, "topP": 0.9, "seed": 7]).result()["text"]?.stringValue))
        // -- ends the options: a prompt may start with a dash.
        let dashed = try daemon.runLorctl(["generate", "--max-tokens", "4", "--", "-x"])
        #expect(dashed.status == 0, "\(dashed.stderr)")

        if LorctlRunner.canUseTerminal {
            let shown = try daemon.lorctlOnTerminal(["generate", "Once upon a time", "--max-tokens", "48", "--temperature", "0"])
            #expect(shown.stdout.contains("[48 tokens, finished: length, "), "a summary on a terminal: \(shown.stdout.debugDescription)")
            #expect(shown.stdout.contains("epoch 0: base model, no adapters]"))
        }
        #expect(daemon.stop() == 0)
    }

    @Test func textArrivesWhileTheJobRuns() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        let run = try daemon.startLorctl(["generate", "Once upon a time", "--max-tokens", "500", "--ignore-eos"])
        #expect(run.waitForOutput(bytes: 20))
        // Held (test hook): the job cannot end while we look.
        kill(daemon.pid, SIGUSR2)
        usleep(50_000)
        #expect(run.process.isRunning, "text is on stdout before the job ends")
        kill(daemon.pid, SIGUSR2)
        let partial = run.text.count
        #expect(run.wait() == 0)
        #expect(run.text.count > partial)
        #expect(daemon.stop() == 0)
    }

    @Test func interruptCancelsTheJob() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        // The engine is held (test hook) before the job is submitted, so the job is certainly still there when
        // lorctl is interrupted, whatever the build's speed.
        kill(daemon.pid, SIGUSR2)
        let run = try daemon.startLorctl(["generate", "Once upon a time", "--max-tokens", "500", "--ignore-eos", "--json"])
        var listed = false
        for _ in 0..<500 where !listed {
            listed = !(try daemon.request("listJobs").result()["jobs"]?.arrayValue ?? []).isEmpty
            if !listed { usleep(10_000) }
        }
        #expect(listed)
        kill(run.process.processIdentifier, SIGINT)
        usleep(300_000)
        kill(daemon.pid, SIGUSR2)
        #expect(run.wait() == 130)
        let result = try JSONValue.parse(run.text)
        #expect(result["finishReason"] == "cancelled", "lorctl cancelled the job and read its end: \(run.text)")
        let tokens = result["usage"]?["completionTokens"]?.numberValue?.int ?? 0
        #expect(tokens < 500)
        #expect(try daemon.request("listJobs").result()["jobs"] == [], "nothing left running in lorad")

        let human = try daemon.startLorctl(["generate", "Once upon a time", "--max-tokens", "500", "--ignore-eos"])
        #expect(human.waitForOutput(bytes: 10))
        kill(human.process.processIdentifier, SIGINT)
        #expect(human.wait() == 130)
        #expect(!human.text.isEmpty)
        #expect(try daemon.request("listJobs").result()["jobs"] == [])
        #expect(daemon.stop() == 0)
    }
}
