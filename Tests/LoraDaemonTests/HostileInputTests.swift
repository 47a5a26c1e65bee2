import Foundation
import LoraJSON
import Testing

/// A fuzz run against a live daemon: mutated requests from several connections at once. Every line gets a
/// well-formed reply or its connection is closed, a well-behaved client is served throughout, and memory stays
/// bounded.
@Suite(.serialized)
struct HostileInputTests {
    /// Deterministic, so a failure can be replayed.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let seeds: [String] = [
        #"{"jsonrpc":"2.0","id":1,"method":"status"}"#,
        #"{"jsonrpc":"2.0","id":2,"method":"getLoras"}"#,
        #"{"jsonrpc":"2.0","id":3,"method":"listJobs"}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"generate","params":{"prompt":"Once","maxTokens":2,"seed":7,"temperature":0.5}}"#,
        #"{"jsonrpc":"2.0","id":5,"method":"generate","params":{"tokens":[1,403,407],"maxTokens":1,"stop":["a"],"stopTokens":[2]}}"#,
        #"{"jsonrpc":"2.0","id":6,"method":"cancel","params":{"jobId":123456}}"#,
        #"{"jsonrpc":"2.0","id":7,"method":"verifyAdapters","params":{"name":"dragon"}}"#,
        #"[{"jsonrpc":"2.0","id":8,"method":"getLoras"},{"jsonrpc":"2.0","method":"status"}]"#,
        #"{"jsonrpc":"2.0","id":9,"method":"setLoras","params":{"adapters":[{"name":"nope","scale":2}],"timeoutMs":1}}"#,
        #"{"jsonrpc":"2.0","id":10,"method":"rpc.discover"}"#,
    ]

    static let numbers = ["1e400", "18446744073709551616", "-1", "1.5", "-0", "1e-400", "99999999999999999999999", "0.0"]

    static func mutate(_ seed: String, _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = Array(seed.utf8)
        // Heavy cases (megabytes each) are rare so the run stays quick; the light ones share the rest.
        let draw = rng.next() % 100
        let kind: UInt64 = draw < 2 ? 4 : draw < 4 ? 5 : draw < 5 ? 6 : [0, 1, 2, 3, 7, 8, 9][Int(draw % 7)]
        switch kind {
        case 0: // truncated
            bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
        case 1: // flipped bytes
            for _ in 0..<(1 + rng.next() % 4) {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= UInt8(truncatingIfNeeded: 1 << (rng.next() % 8))
            }
        case 2: // invalid UTF-8 and NUL
            let junk: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x00], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]]
            let i = Int(rng.next() % UInt64(bytes.count))
            bytes.insert(contentsOf: junk[Int(rng.next() % UInt64(junk.count))], at: i)
        case 3: // numbers where integers are expected
            let text = seed.replacingOccurrences(of: #"("id":|"maxTokens":|"jobId":|"seed":|\[)\d+"#, with: "$1" + numbers[Int(rng.next() % UInt64(numbers.count))],
                                                 options: .regularExpression)
            bytes = Array(text.utf8)
        case 4: // a string of megabytes
            let big = String(repeating: "x", count: 1 << (20 + Int(rng.next() % 2)))
            bytes = Array(#"{"jsonrpc":"2.0","id":"big","method":"generate","params":{"prompt":"\#(big)","maxTokens":1}}"#.utf8)
        case 5: // deep nesting
            let depth = Int(rng.next() % 2) == 0 ? 100_000 : 2_000
            bytes = Array(#"{"jsonrpc":"2.0","id":"deep","method":"status","params":"#.utf8) + [UInt8](repeating: 0x5B, count: depth)
                + [UInt8](repeating: 0x5D, count: depth) + Array("}".utf8)
        case 6: // a huge batch
            let entry = #"{"jsonrpc":"2.0","id":1,"method":"x"}"#
            bytes = Array(("[" + Array(repeating: entry, count: 100_000).joined(separator: ",") + "]").utf8)
        case 7: // wrong types
            let text = seed.replacingOccurrences(of: #""2.0""#, with: ["2", "\"1.0\"", "null", "[\"2.0\"]"][Int(rng.next() % 4)])
            bytes = Array(text.utf8)
        case 8: // random bytes
            bytes = (0..<(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default: // duplicated and spliced
            let cut = Int(rng.next() % UInt64(bytes.count))
            bytes = Array(bytes[..<cut]) + bytes + Array(bytes[cut...])
        }
        // One line per request: a newline inside would only make two requests.
        return bytes.map { $0 == 0x0A ? 0x20 : $0 }
    }

    @Test func tenThousandMutatedRequestsFromFourConnections() throws {
        let daemon = try LoradProcess(config: "[server]\nmax_message_bytes = 4194304\n")
        try daemon.start()
        _ = try daemon.request("status")
        let rssBefore = daemon.residentKiB ?? 0

        let stop = AtomicFlag()
        let wellBehaved = Thread {
            var worst = 0.0
            var failures = 0
            while !stop.isSet {
                let started = Date()
                if (try? daemon.request("getLoras").result()) == nil { failures += 1 }
                worst = max(worst, Date().timeIntervalSince(started))
                usleep(20_000)
            }
            stop.report(worst: worst, failures: failures)
        }
        wellBehaved.start()

        let perConnection = 2_500
        let outcomes = OutcomeLog()
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var rng = SplitMix64(state: 0xC0FFEE &+ UInt64(worker))
            var connection = try? daemon.connect()
            for n in 0..<perConnection {
                let seed = Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))]
                let line = Self.mutate(seed, &rng)
                guard let current = connection else { outcomes.fail("could not reconnect"); return }
                let sentinel = "s\(worker)-\(n)"
                let sentOK = current.write(line + [0x0A])
                    && current.write(#"{"jsonrpc":"2.0","id":"\#(sentinel)","method":"getLoras"}"# + "\n")
                var sawSentinel = false
                while sentOK, let reply = current.readLine(timeout: 60) {
                    guard let message = try? JSONValue.parse(reply, options: JSONParseOptions(maxDepth: 64)) else {
                        outcomes.fail("ill-formed reply to \(String(decoding: line.prefix(120), as: UTF8.self)): \(reply.prefix(200))")
                        current.closeNow()
                        break
                    }
                    if !Self.wellFormed(message) { outcomes.fail("not a JSON-RPC reply: \(reply.prefix(200))") }
                    if message["id"]?.stringValue == sentinel { sawSentinel = true; break }
                }
                if sawSentinel {
                    outcomes.count(replied: true)
                } else if current.closedByPeer || !sentOK {
                    outcomes.count(replied: false)
                    connection = try? daemon.connect()
                } else {
                    outcomes.count(replied: false)
                    outcomes.fail("no reply and no close after \(String(decoding: line.prefix(120), as: UTF8.self))")
                    connection = try? daemon.connect()
                }
            }
        }
        stop.set()
        while !stop.reported { usleep(10_000) }
        let rssAfter = daemon.residentKiB ?? 0

        #expect(outcomes.failures.isEmpty, "\(outcomes.failures.prefix(5))")
        #expect(outcomes.total == 4 * perConnection)
        #expect(outcomes.closed < outcomes.total / 4, "most hostile lines get an error reply, not a hang-up")
        #expect(stop.failures == 0, "the well-behaved client was refused")
        #expect(stop.worst < 5, "the well-behaved client waited \(stop.worst) s")
        #expect(rssAfter - rssBefore < 256 * 1024, "memory grew from \(rssBefore) KiB to \(rssAfter) KiB")
        #expect(try daemon.request("status").result()["state"] == "serving")
        #expect(daemon.stop() == 0)
    }

    /// A response (result xor error, with an id) or a notification lorad sends; batches of those.
    static func wellFormed(_ message: JSONValue) -> Bool {
        if let items = message.arrayValue { return !items.isEmpty && items.allSatisfy(wellFormed) }
        guard message["jsonrpc"] == "2.0" else { return false }
        if message["method"] != nil { return message["id"] == nil }
        guard message["id"] != nil else { return false }
        if let error = message["error"] {
            return message["result"] == nil && error["code"]?.numberValue?.int != nil && error["message"]?.stringValue != nil
        }
        return message["result"] != nil
    }
}

final class AtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var done = false
    private(set) var worst = 0.0
    private(set) var failures = 0
    var isSet: Bool { lock.withLock { flag } }
    var reported: Bool { lock.withLock { done } }
    func set() { lock.withLock { flag = true } }
    func report(worst: Double, failures: Int) {
        lock.withLock { self.worst = worst; self.failures = failures; done = true }
    }
}

final class OutcomeLog: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var failures: [String] = []
    private(set) var total = 0
    private(set) var closed = 0
    func fail(_ message: String) { lock.withLock { failures.append(message) } }
    func count(replied: Bool) { lock.withLock { total += 1; if !replied { closed += 1 } } }
}
