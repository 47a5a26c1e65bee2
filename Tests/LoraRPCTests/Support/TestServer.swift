import Dispatch
import Foundation
import Logging
import LoraJSON
import Synchronization
@testable import LoraRPC

/// A real `UnixSocketServer` on a fresh socket under /tmp (short enough for `sockaddr_un`) with the test methods;
/// stopped when released.
final class TestServer: Sendable {
    let server: UnixSocketServer
    let path: String
    /// Connection ids whose close callbacks ran.
    let closedConnections = Recorder<UInt64>()
    /// Methods `authorize` was asked about.
    let authorizeAsked = Recorder<String>()

    init(admin: Bool = true, configure: (inout RPCServerConfiguration) -> Void = { _ in }) throws {
        path = TestServer.freshPath()
        var configuration = RPCServerConfiguration()
        configure(&configuration)
        server = UnixSocketServer(
            methods: TestServer.methods(closed: closedConnections), configuration: configuration,
            logger: TestServer.quietLogger,
            authorize: { [asked = authorizeAsked] _, method in
                asked.append(method)
                return admin
            },
            denied: { peer, method in
                RPCError(code: -32010, name: "PermissionDenied",
                         message: "\(method) needs an admin; uid \(peer.uid) is not one. Run it as root or as the daemon's user")
            })
        try server.listen(path: path)
        server.start()
    }

    deinit {
        server.stop(flushTimeout: .milliseconds(100))
    }

    /// A client connected to the server.
    func client() throws -> RPCClient { try RPCClient(socketPath: path) }

    static let quietLogger = Logger(label: "lorad.rpc.test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func freshPath() -> String {
        "/tmp/lrpc-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-\(getpid())"
    }

    /// The methods of the transcripts: the JSON-RPC specification's, with named parameters, and a few of our own.
    static func methods(closed: Recorder<UInt64>) -> RPCMethodTable {
        var methods: [RPCMethod] = [
            RPCMethod(name: "subtract", summary: "minuend minus subtrahend.",
                      params: [RPCParam("minuend", .int64, required: true), RPCParam("subtrahend", .int64, required: true)],
                      result: ["type": "integer"]) { call in
                let (a, b) = (call.params.int64("minuend") ?? 0, call.params.int64("subtrahend") ?? 0)
                let (difference, overflow) = a.subtractingReportingOverflow(b)
                if overflow { call.fail(.invalidParams("the difference does not fit in 64 bits")) } else { call.reply(.int64(difference)) }
            },
            RPCMethod(name: "sum", summary: "The sum of the values.",
                      params: [RPCParam("values", .array(of: .int64), required: true)]) { call in
                call.reply(.int64((call.params.array("values") ?? []).reduce(0) { $0 &+ ($1.numberValue?.int64 ?? 0) }))
            },
            RPCMethod(name: "update", summary: "Takes values and returns nothing.",
                      params: [RPCParam("values", .array(of: .any))]) { call in call.reply(.null) },
            RPCMethod(name: "notify_hello", summary: "Says hello.", params: [RPCParam("value", .any)]) { call in call.reply("hello") },
            RPCMethod(name: "get_data", summary: "Some data.") { call in call.reply(["hello", 5]) },
            RPCMethod(name: "echo", summary: "Returns its value.", params: [RPCParam("value", .any, required: true)]) { call in
                call.reply(call.params.value("value") ?? .null)
            },
            RPCMethod(name: "seeded", summary: "Returns its parameters.",
                      params: [RPCParam("seed", .uint64, description: "The sampling seed."),
                               RPCParam("mode", .enumeration(["fast", "exact"])),
                               RPCParam("options", .object([RPCParam("topK", .integer(0...1000))]))]) { call in
                call.reply(call.params.object)
            },
        ]
        methods += moreMethods(closed: closed)
        return RPCMethodTable(methods: methods, title: "test", version: "1.0")
    }

    private static func moreMethods(closed: Recorder<UInt64>) -> [RPCMethod] {
        [
            RPCMethod(name: "whoami", summary: "The peer's credentials.") { call in
                call.reply(["pid": .int(Int(call.peer.pid)), "uid": .int(Int(call.peer.uid)), "gid": .int(Int(call.peer.gid))])
            },
            RPCMethod(name: "later", summary: "Replies after a delay, from another thread.",
                      params: [RPCParam("ms", .integer(0...10_000), required: true), RPCParam("tag", .any)]) { call in
                let ms = call.params.int("ms") ?? 0
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(ms)) {
                    call.reply(call.params.value("tag") ?? .null)
                }
            },
            RPCMethod(name: "flood", summary: "Sends notifications, then replies with how many were accepted.",
                      params: [RPCParam("count", .integer(0...1_000_000), required: true),
                               RPCParam("size", .integer(0...1_000_000), required: true)]) { call in
                // From another thread, as a streaming job would: the server writes while this produces.
                DispatchQueue.global().async {
                    let text = JSONValue.string(String(repeating: "x", count: call.params.int("size") ?? 0))
                    var accepted = 0
                    for i in 0..<(call.params.int("count") ?? 0) {
                        if !call.notify(method: "flood.item", params: ["i": .int(i), "text": text]) { break }
                        accepted += 1
                    }
                    call.reply(.int(accepted))
                }
            },
            RPCMethod(name: "watch", summary: "Records when the connection closes.") { call in
                let id = call.connectionID
                call.onClose { closed.append(id) }
                call.reply(.int(Int(id)))
            },
            RPCMethod(name: "drop", summary: "Never replies (the server answers Internal error).") { _ in },
            RPCMethod(name: "adminOnly", summary: "Needs an admin.", admin: true) { call in call.reply("done") },
        ]
    }
}

/// A thread-safe list that tests read after the fact.
final class Recorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])

    func append(_ item: T) { items.withLock { $0.append(item) } }
    var all: [T] { items.withLock { $0 } }
}

/// Waits (up to 5 s) until `condition` holds.
func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<500 {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

extension RPCClient {
    /// Sends `line` and returns the reply line (5 s at most).
    func exchange(_ line: String) throws -> String? {
        try sendRaw(line: line)
        return try readLine(timeout: .seconds(5))
    }
}
