import Foundation
import LoraJSON
import Testing
@testable import LoraRPC

/// Mutated requests from several connections: every line gets at most one well-formed reply (or its connection
/// is closed), and the server keeps serving.
@Suite struct FuzzTests {
    private static let seeds: [String] = [
        #"{"jsonrpc":"2.0","method":"seeded","params":{"seed":42,"mode":"fast","options":{"topK":5}},"id":1}"#,
        #"[{"jsonrpc":"2.0","method":"sum","params":{"values":[1,2,3]},"id":"a"},{"jsonrpc":"2.0","method":"echo","params":{"value":null}}]"#,
        #"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":18446744073709551615,"subtrahend":1e400},"id":-0}"#,
        #"{"jsonrpc":"2.0","method":"echo","params":{"value":"héllo \ud83d\ude00 \u0000"},"id":"x"}"#,
    ]

    /// One random mutation: truncation, a flipped byte, an inserted NUL, invalid UTF-8 or a deep nest; never a
    /// newline, so the line stays one line.
    private static func mutate(_ line: [UInt8], _ rng: inout some RandomNumberGenerator) -> [UInt8] {
        var bytes = line
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
        case 1:
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
        case 2: bytes.insert(0, at: Int.random(in: 0...bytes.count, using: &rng))
        case 3: bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: Int.random(in: 0...bytes.count, using: &rng))
        case 4: bytes = Array("[".utf8) + Array(repeating: UInt8(ascii: "["), count: Int.random(in: 100...5000, using: &rng)) + bytes
        default:
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            bytes.replaceSubrange(i..<i, with: Array(#"1e400,"#.utf8))
        }
        return bytes.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }

    @Test func mutatedRequestsGetWellFormedRepliesAndTheServerKeepsServing() throws {
        let server = try TestServer { $0.maxMessageBytes = 64 << 10 }
        let failures = Recorder<String>()
        let group = DispatchGroup()
        let path = server.path
        for worker in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                var rng = SystemRandomNumberGenerator()
                do {
                    var client = try RPCClient(socketPath: path)
                    for n in 0..<600 {
                        let seed = Array(Self.seeds[n % Self.seeds.count].utf8)
                        try client.sendRaw(bytes: Self.mutate(seed, &rng) + [0x0A])
                        let probe = #"{"jsonrpc":"2.0","method":"echo","params":{"value":0},"id":"probe-\#(n)"}"#
                        try client.sendRaw(line: probe)
                        var replies = 0
                        while true {
                            guard let line = try client.readLine(timeout: .seconds(10)) else {
                                client = try RPCClient(socketPath: path)
                                break
                            }
                            guard let value = try? JSONValue.parse(line) else {
                                failures.append("worker \(worker): not JSON: \(line.prefix(200))")
                                break
                            }
                            if value["id"] == .string("probe-\(n)") { break }
                            replies += 1
                            let entries = value.arrayValue ?? [value]
                            for entry in entries where entry["jsonrpc"] != "2.0" || (entry["result"] == nil) == (entry["error"] == nil) {
                                failures.append("worker \(worker): malformed reply \(line.prefix(200))")
                            }
                        }
                        if replies > 1 { failures.append("worker \(worker): \(replies) replies to one line") }
                    }
                } catch {
                    failures.append("worker \(worker): \(error)")
                }
            }.start()
        }
        // A well-behaved client is served throughout.
        let steady = try server.client()
        var i = 0
        while group.wait(timeout: .now() + .milliseconds(5)) == .timedOut {
            #expect(try steady.call("echo", params: ["value": .int(i)], timeout: .seconds(5)) == .int(i))
            i += 1
            if i > 100_000 { break }
        }
        #expect(failures.all == [])
        #expect(i > 0)
    }
}
