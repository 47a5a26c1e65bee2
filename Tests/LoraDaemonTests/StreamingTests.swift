import Foundation
import LoraJSON
import Testing

/// Many clients at once, streaming, slow and vanishing clients, on the embedded demo model (no fixtures needed).
@Suite(.serialized)
struct StreamingTests {
    static let config = """
        [server]
        max_queued_bytes_per_connection = 65536
        """

    /// One streamed job as a client sees it: the `{jobId}` reply, the deltas, `generate.done`.
    struct Stream {
        var jobID: Int?
        var deltaTokens = 0
        var text = ""
        var done: JSONValue?
        var badLines: [String] = []
    }

    static func readStream(_ connection: RawConnection, id: Int, timeout: Double = 120) -> Stream {
        var stream = Stream()
        while stream.done == nil, let line = connection.readLine(timeout: timeout) {
            guard let message = try? JSONValue.parse(line) else {
                stream.badLines.append(line)
                continue
            }
            if message["id"]?.numberValue?.int == id {
                stream.jobID = message["result"]?["jobId"]?.numberValue?.int
            } else if message["method"]?.stringValue == "generate.delta" {
                if stream.jobID == nil { stream.badLines.append("delta before the {jobId} reply: \(line)") }
                stream.deltaTokens += message["params"]?["tokens"]?.arrayValue?.count ?? 0
                stream.text += message["params"]?["text"]?.stringValue ?? ""
            } else if message["method"]?.stringValue == "generate.done" {
                stream.done = message["params"]
            } else {
                stream.badLines.append(line)
            }
        }
        return stream
    }

    @Test func sixtyFourClientsStreamAtOnce() throws {
        let daemon = try LoradProcess(config: Self.config)
        try daemon.start()
        let solo = try daemon.request("generate", ["prompt": "Once upon a time", "maxTokens": 48, "temperature": 0]).result()
        let results = Mutex64()
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            do {
                let connection = try daemon.connect()
                connection.write(#"{"jsonrpc":"2.0","id":\#(index),"method":"generate","params":{"prompt":"Once upon a time","maxTokens":48,"temperature":0,"stream":true}}"# + "\n")
                results.set(index, Self.readStream(connection, id: index))
            } catch {
                results.set(index, Stream(badLines: ["\(error)"]))
            }
        }
        let streams = results.all
        #expect(streams.count == 64)
        #expect(Set(streams.compactMap(\.jobID)).count == 64, "every job has its own id")
        for stream in streams {
            #expect(stream.badLines.isEmpty, "\(stream.badLines.prefix(3))")
            let completion = stream.done?["usage"]?["completionTokens"]?.numberValue?.int
            #expect(completion == stream.deltaTokens)
            #expect(stream.done?["finishReason"] != nil)
            // Greedy and batch-invariant: every client reads the story a client alone reads.
            #expect(stream.text == solo["text"]?.stringValue)
        }
        #expect(daemon.stop() == 0)
    }

    @Test func aClientThatHalfClosesStillGetsItsStream() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        // Many rounds: the end of a stream races the release of the connection (a release applied before the
        // last notification was queued once closed the connection without it).
        for round in 1...20 {
            let connection = try daemon.connect()
            connection.write(#"{"jsonrpc":"2.0","id":1,"method":"generate","params":{"prompt":"Once upon a time","maxTokens":64,"ignoreEos":true,"stream":true}}"# + "\n")
            connection.shutdownWriting()
            let stream = Self.readStream(connection, id: 1)
            #expect(stream.jobID != nil, "round \(round)")
            #expect(stream.done?["finishReason"] == "length", "round \(round): the stream ran to its end")
            #expect(stream.deltaTokens == 64, "round \(round)")
            #expect(connection.waitForClose(), "round \(round): and then the daemon closed the connection")
        }
        #expect(daemon.stop() == 0)
    }

    @Test func bytesOneAtATimeAndManyRequestsPerWrite() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let connection = try daemon.connect()
        connection.writeByteByByte(#"{"jsonrpc":"2.0","id":"slow","method":"getLoras"}"# + "\r\n")
        let reply = try JSONValue.parse(#require(connection.readLine()))
        #expect(reply["id"] == "slow")
        #expect(reply["result"]?["epoch"] != nil)

        let burst = (1...200).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"getLoras"}"# + "\n" }.joined()
        connection.write(burst)
        for expected in 1...200 {
            let line = try #require(connection.readLine())
            let message = try JSONValue.parse(line)
            #expect(message["id"]?.numberValue?.int == expected, "replies come in request order")
        }
        #expect(daemon.stop() == 0)
    }

    @Test func aClientThatNeverReadsIsDisconnectedWithoutSlowingOthers() throws {
        let daemon = try LoradProcess(config: Self.config)
        try daemon.start()
        let sleeper = try daemon.connect()
        sleeper.shrinkReceiveBuffer()
        // Far more output than the 64 KiB queue and the socket buffers hold, and it never reads a byte.
        let requests = (1...16).map {
            #"{"jsonrpc":"2.0","id":\#($0),"method":"generate","params":{"prompt":"Once upon a time","maxTokens":400,"ignoreEos":true,"logprobs":true,"stream":true}}"# + "\n"
        }
        sleeper.write(requests.joined())

        let started = Date()
        let reader = try daemon.connect()
        let other = try reader.call("generate", ["prompt": "One day", "maxTokens": 64, "ignoreEos": true]).result()
        #expect(other["usage"]?["completionTokens"]?.numberValue?.int == 64)
        #expect(Date().timeIntervalSince(started) < 20, "another client's tokens were held up")

        // The daemon dropped the sleeper and cancelled its jobs instead of buffering without bound.
        #expect(sleeper.waitForClose(timeout: 30))
        var jobsLeft = -1
        for _ in 0..<100 {
            jobsLeft = try reader.call("listJobs").result()["jobs"]?.arrayValue?.count ?? -1
            if jobsLeft == 0 { break }
            usleep(50_000)
        }
        #expect(jobsLeft == 0)
        #expect(daemon.stderr.contains("disconnect"))
        #expect(daemon.stop() == 0)
    }

    @Test func disconnectMidStreamCancelsTheJobs() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        let before = try daemon.request("status").result()["engine"]?["generatedTokens"]?.numberValue?.int ?? 0
        do {
            let connection = try daemon.connect()
            let requests = (1...8).map {
                #"{"jsonrpc":"2.0","id":\#($0),"method":"generate","params":{"prompt":"Once upon a time","maxTokens":500,"ignoreEos":true,"stream":true}}"# + "\n"
            }
            connection.write(requests.joined())
            // The first delta proves the jobs run; the engine is then held (test hook) while the client goes away,
            // so the jobs cannot simply finish first.
            while let line = connection.readLine(), !line.contains("generate.delta") {}
            kill(daemon.pid, SIGUSR2)
        }
        usleep(100_000)
        kill(daemon.pid, SIGUSR2)
        let observer = try daemon.connect()
        var jobs = -1
        for _ in 0..<200 {
            jobs = try observer.call("listJobs").result()["jobs"]?.arrayValue?.count ?? -1
            if jobs == 0 { break }
            usleep(10_000)
        }
        #expect(jobs == 0)
        let after = try observer.call("status").result()["engine"]?["generatedTokens"]?.numberValue?.int ?? 0
        #expect(after - before < 8 * 500, "the jobs ran to the end for nobody")
        #expect(daemon.stop() == 0)
    }
}

/// Results gathered from concurrent clients.
final class Mutex64: @unchecked Sendable {
    private let lock = NSLock()
    private var streams: [Int: StreamingTests.Stream] = [:]
    func set(_ index: Int, _ stream: StreamingTests.Stream) { lock.withLock { streams[index] = stream } }
    var all: [StreamingTests.Stream] { lock.withLock { Array(streams.values) } }
}
