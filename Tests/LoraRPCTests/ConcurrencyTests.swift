import Foundation
import LoraJSON
import Synchronization
import Testing
@testable import LoraRPC

/// Many clients at once, asynchronous replies, notifications, and a client that stops reading.
@Suite struct ConcurrencyTests {
    @Test func sixtyFourConcurrentClientsEachGetTheirOwnReplies() throws {
        let server = try TestServer()
        let failures = Recorder<String>()
        let notifications = Atomic<Int>(0)
        let group = DispatchGroup()
        let path = server.path
        for c in 0..<64 {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client = try RPCClient(socketPath: path)
                    client.onNotification = { method, params in
                        if method == "flood.item", params["text"]?.stringValue?.count == 100 { notifications.add(1, ordering: .relaxed) }
                    }
                    for i in 0..<40 {
                        let tag: JSONValue = ["client": .int(c), "i": .int(i)]
                        let got = try client.call(i % 4 == 0 ? "later" : "echo",
                                                  params: i % 4 == 0 ? ["ms": .int(i % 3), "tag": tag] : ["value": tag],
                                                  timeout: .seconds(20))
                        if got != tag { failures.append("client \(c) call \(i): \(got.serializedString)") }
                    }
                    if try client.call("flood", params: ["count": 10, "size": 100], timeout: .seconds(20)) != 10 {
                        failures.append("client \(c): flood")
                    }
                } catch {
                    failures.append("client \(c): \(error)")
                }
            }
            thread.start()
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(failures.all == [])
        #expect(notifications.load(ordering: .relaxed) == 640)
    }

    @Test func singleRepliesGoOutAsTheyCompleteAndCarryTheirIds() throws {
        let server = try TestServer()
        let client = try server.client()
        try client.sendRaw(line: #"{"jsonrpc":"2.0","method":"later","params":{"ms":300,"tag":"slow"},"id":1}"#)
        try client.sendRaw(line: #"{"jsonrpc":"2.0","method":"echo","params":{"value":"fast"},"id":2}"#)
        #expect(try client.readLine(timeout: .seconds(5)) == #"{"jsonrpc":"2.0","result":"fast","id":2}"#)
        #expect(try client.readLine(timeout: .seconds(5)) == #"{"jsonrpc":"2.0","result":"slow","id":1}"#)
    }

    @Test func clientThatStopsReadingIsDisconnectedWhileOthersAreServed() throws {
        let server = try TestServer { $0.maxPendingOutputBytes = 256 << 10 }
        let stuck = try server.client()
        let stuckID = UInt64(try #require(try stuck.call("watch").numberValue?.int))
        // 200 MB of notifications the client never reads: the server must drop it, not buffer them.
        try stuck.sendRaw(line: #"{"jsonrpc":"2.0","method":"flood","params":{"count":20000,"size":10000},"id":"f"}"#)
        let other = try server.client()
        let started = Date()
        for i in 0..<50 {
            #expect(try other.call("echo", params: ["value": .int(i)], timeout: .seconds(2)) == .int(i))
        }
        #expect(waitUntil { server.closedConnections.all.contains(stuckID) })
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(server.server.connectionCount == 1)
        #expect(try other.call("echo", params: ["value": "after"]) == "after")
    }

    @Test func halfClosedClientStillGetsItsReplies() throws {
        let server = try TestServer()
        let client = try server.client()
        try client.sendRaw(line: #"{"jsonrpc":"2.0","method":"later","params":{"ms":100,"tag":"done"},"id":1}"#)
        try client.shutdownWriting()
        #expect(try client.readLine(timeout: .seconds(5)) == #"{"jsonrpc":"2.0","result":"done","id":1}"#)
        #expect(try client.readLine(timeout: .seconds(5)) == nil)
    }
}
