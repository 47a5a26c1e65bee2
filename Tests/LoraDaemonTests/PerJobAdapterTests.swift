import Foundation
import LoraJSON
import Testing

/// `generate {loras}` through the socket: jobs with their own adapters batched with jobs on the global set, each
/// getting what it gets alone; the setLoras barrier does not hold them; adapters they use cannot be removed.
@Suite(.serialized)
struct PerJobAdapterTests {
    static func generate(_ prompt: String, loras: JSONValue?) -> JSONValue {
        var params: [(String, JSONValue)] = [("prompt", .string(prompt)), ("maxTokens", 48), ("temperature", 0), ("logprobs", true), ("ignoreEos", true)]
        if let loras { params.append(("loras", loras)) }
        return .object(params)
    }

    static let sets: [JSONValue?] = [
        nil, [], [["name": "dragon"]], [["name": "snow"]], [["name": "dragon", "scale": 0.5], ["name": "snow", "scale": 0.5]],
        [["name": "dragon", "scale": -1]], [["name": "snow", "scale": 2]], nil,
    ]

    @Test func mixedJobsInOneBatchEachGetWhatTheyGetAlone() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let client = try daemon.connect()
        _ = try client.call("setLoras", ["adapters": [["name": "dragon", "scale": 0.75]]]).result()
        // Alone: one job at a time.
        var alone: [JSONValue] = []
        for set in Self.sets { alone.append(try client.call("generate", Self.generate("Once upon a time", loras: set)).result()) }
        // Together: every job in flight at once on one connection.
        let together = try daemon.connect()
        for (i, set) in Self.sets.enumerated() {
            let request: JSONValue = ["jsonrpc": "2.0", "id": .int(i), "method": "generate", "params": Self.generate("Once upon a time", loras: set)]
            together.write(request.serializedString + "\n")
        }
        var replies: [Int: JSONValue] = [:]
        while replies.count < Self.sets.count, let line = together.readLine() {
            let reply = try JSONValue.parse(line)
            if let id = reply["id"]?.numberValue?.int { replies[id] = try reply.result() }
        }
        for (i, set) in Self.sets.enumerated() {
            let one = alone[i], batched = try #require(replies[i])
            #expect(batched["tokens"] == one["tokens"], "job \(i) (\(set?.serializedString ?? "global set")): tokens differ in a batch")
            let a = one["logprobs"]?.arrayValue?.compactMap { $0.numberValue?.double } ?? []
            let b = batched["logprobs"]?.arrayValue?.compactMap { $0.numberValue?.double } ?? []
            #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 }, "job \(i): logprobs differ")
            if set == nil {
                #expect(batched["loras"]?["epoch"] != nil, "a job on the global set reports its epoch")
            } else {
                #expect(batched["loras"]?["epoch"] == nil, "a job with its own adapters reports no global epoch")
                #expect(batched["loras"]?["adapters"]?.arrayValue?.count == set?.arrayValue?.count)
            }
        }
        // Adapters change the text: the sets are not silently ignored.
        #expect(alone[0]["text"] != alone[1]["text"])
        #expect(alone[1]["text"] != alone[2]["text"])
        // The global set with dragon at 0.75 is not the job's own dragon at 1.
        #expect(alone[0]["text"] != alone[2]["text"])
        let cache = try client.call("status").result()["engine"]?["adapterCache"]
        #expect((cache?["entries"]?.numberValue?.int ?? 0) >= 1)
        #expect((cache?["hits"]?.numberValue?.int ?? 0) >= 1, "the second use of a set comes from the cache")
        #expect(daemon.stop() == 0)
    }

    @Test func aPendingSetLorasDoesNotHoldThemAndTheirAdaptersCannotBeRemoved() throws {
        let daemon = try LoradProcess()
        daemon.environment["LORAD_TEST_HOOKS"] = "1"
        try daemon.start()
        // A long job with its own snow adapter, held by the test hook so that it is certainly still running.
        let own = try daemon.connect()
        own.write(#"{"jsonrpc":"2.0","id":"own","method":"generate","params":{"prompt":"Once upon a time","maxTokens":400,"ignoreEos":true,"stream":true,"loras":[{"name":"snow"}]}}"# + "\n")
        while let line = own.readLine(), !line.contains("generate.delta") {}
        kill(daemon.pid, SIGUSR2)
        let admin = try daemon.connect()
        let removal = try admin.call("removeAdapter", ["name": "snow"])
        #expect(removal.errorName == "AdapterActive", "\(removal.serializedString)")
        let listed = try admin.call("listAdapters").result()["adapters"]?.arrayValue ?? []
        let snow = listed.first { $0["name"] == "snow" }
        #expect(snow?["inUse"] == true)
        #expect(snow?["active"] == false)
        let jobs = try admin.call("listJobs").result()["jobs"]?.arrayValue ?? []
        #expect(jobs.first?["loras"]?["adapters"]?.arrayValue?.first?["name"] == "snow")
        kill(daemon.pid, SIGUSR2)

        // A global job keeps a setLoras waiting; a job with its own adapters, submitted after it, is not held.
        let global = try daemon.connect()
        global.write(#"{"jsonrpc":"2.0","id":"g","method":"generate","params":{"prompt":"Once upon a time","maxTokens":400,"ignoreEos":true,"stream":true}}"# + "\n")
        while let line = global.readLine(), !line.contains("generate.delta") {}
        kill(daemon.pid, SIGUSR2)
        admin.write(#"{"jsonrpc":"2.0","id":"set","method":"setLoras","params":{"adapters":[{"name":"dragon"}]}}"# + "\n")
        var pending = 0
        for _ in 0..<500 where pending != 1 {
            pending = try daemon.request("status").result()["engine"]?["pendingSetLoras"]?.numberValue?.int ?? 0
            if pending != 1 { usleep(2_000) }
        }
        #expect(pending == 1)
        let late = try daemon.connect()
        late.write(#"{"jsonrpc":"2.0","id":"late","method":"generate","params":{"prompt":"Once","maxTokens":4,"loras":[]}}"# + "\n")
        usleep(100_000)
        kill(daemon.pid, SIGUSR2)
        // With the engine running again the late job can finish; the setLoras still waits for the long global job.
        let lateReply = try JSONValue.parse(#require(late.readLine()))
        #expect(lateReply["result"]?["usage"]?["completionTokens"] == 4)
        #expect(lateReply["result"]?["loras"]?["epoch"] == nil)
        // 4 tokens against the global job's remaining hundreds: the setLoras is still waiting when the late job is done.
        #expect(try daemon.request("status").result()["engine"]?["pendingSetLoras"] == 1)
        let committed = try JSONValue.parse(#require(admin.readLine()))
        #expect(committed["result"]?["drainedJobs"]?.numberValue?.int ?? 0 >= 1)
        #expect(daemon.stop() == 0)
    }

    @Test func lorctlGenerateNamesTheJobsOwnAdapters() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let expected = try daemon.request("generate", ["prompt": "Once upon a time", "maxTokens": 24, "temperature": 0,
                                                       "loras": [["name": "dragon", "scale": 0.5]]]).result()
        let run = try daemon.runLorctl(["generate", "Once upon a time", "--max-tokens", "24", "--temperature", "0", "--adapter", "dragon:0.5", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try run.json()
        #expect(result["text"] == expected["text"])
        #expect(result["loras"]?["epoch"] == nil)
        #expect(result["loras"]?["adapters"]?.arrayValue?.first?["name"] == "dragon")
        let base = try daemon.runLorctl(["generate", "Once upon a time", "--max-tokens", "24", "--temperature", "0", "--no-adapters", "--json"]).json()
        #expect(base["text"] != result["text"])
        #expect(try daemon.runLorctl(["generate", "x", "--adapter", "dragon", "--no-adapters"]).status == 64)
        #expect(daemon.stop() == 0)
    }

    @Test func unknownAdaptersAndBadScalesAreRefused() throws {
        let daemon = try LoradProcess()
        try daemon.start()
        let client = try daemon.connect()
        let unknown = try client.call("generate", ["prompt": "Once", "loras": [["name": "pirate"]]])
        #expect(unknown.errorName == "AdapterNotFound")
        let scale = try client.call("generate", ["prompt": "Once", "loras": [["name": "snow", "scale": "big"]]])
        #expect(scale.errorCode == -32602)
        #expect(scale["error"]?["message"]?.stringValue?.hasPrefix("loras[0].scale") == true)
        let twice = try client.call("generate", ["prompt": "Once", "loras": [["name": "snow"], ["name": "snow"]]])
        #expect(twice.errorCode == -32602)
        #expect(daemon.stop() == 0)
    }
}
