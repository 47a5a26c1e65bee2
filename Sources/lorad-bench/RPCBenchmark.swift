import ArgumentParser
import Dispatch
import Foundation
import Logging
import LoraDaemon
import LoraJSON
import LoraRPC
import Synchronization

/// `lorad-bench rpc`: `status` round trips over the Unix socket, from 1 and 16 connections, on an idle daemon and
/// while it generates at full batch; against the transport's own ceiling, a bare line echo on the same kind of
/// socket with the same message sizes, measured in the same run.
struct RPCBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "JSON-RPC round trips per second and latency, idle and while generating.")

    @Option(help: "Checkpoint to serve (default: the embedded demo, stories260K).")
    var model: String?

    @Option(help: "Seconds each measurement runs.")
    var seconds: Double = 3

    @Option(help: "Comma-separated numbers of client connections.")
    var connections = IntegerList([1, 16])

    @Option(help: "New tokens per generate job of the background load.")
    var loadTokens = 256

    @Option(help: "The method measured (status, or e.g. getLoras to see the transport without status's work).")
    var method = "status"

    @Flag(help: "Skip the sgemm and bandwidth ceilings (the socket echo ceiling is always measured).")
    var noCeilings = false

    func validate() throws {
        guard seconds > 0, loadTokens > 0, connections.values.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--seconds, --load-tokens and --connections must be positive")
        }
    }

    func run() throws {
        print(MachineCeilings.machineDescription)
        if !noCeilings { MachineCeilings.measureAndReport() }
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lorad-bench-rpc-\(getpid())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let socket = root.appendingPathComponent("s.sock").path

        var configuration = DaemonConfiguration(environment: [:])
        configuration.modelPath = model
        configuration.stateDirectory = root.appendingPathComponent("state").path
        configuration.socketPath = socket
        let quiet = Logger(label: "lorad-bench.rpc", factory: { _ in SwiftLogNoOpLogHandler() })
        let daemon = try Daemon(configuration: configuration, loader: ConfigurationLoader(flags: .init(), environment: [:]), logger: quiet)
        try daemon.startServing()
        defer {
            let stopped = DispatchSemaphore(value: 0)
            daemon.shutdown { stopped.signal() }
            stopped.wait()
        }

        let probe = try RPCClient(socketPath: socket)
        let statusReply = try probe.call("status")
        let measuredReply = try probe.call(method)
        let requestBytes = #"{"jsonrpc":"2.0","id":1,"method":"\#(method)"}"#.utf8.count + 1
        let replyBytes = JSONValue.object([("jsonrpc", "2.0"), ("result", measuredReply), ("id", 1)]).serializedString.utf8.count + 1
        let batch = statusReply["engine"]?["maxBatchSize"]?.numberValue?.int ?? 16
        print("model: \(statusReply["model"]?["path"]?.stringValue ?? "?"); \(method) request \(requestBytes) B, reply \(replyBytes) B; load: \(batch) generate jobs of \(loadTokens) tokens, resubmitted as they end")

        print("connections | state      | lorad calls/s  | p50 ms | p99 ms | echo ceiling/s | of ceiling | engine tokens/s")
        for count in connections.values {
            let ceiling = try EchoCeiling.measure(connections: count, requestBytes: requestBytes, replyBytes: replyBytes, seconds: seconds, root: root)
            for generating in [false, true] {
                let load = generating ? try GenerateLoad(socket: socket, jobs: batch, tokens: loadTokens) : nil
                if let load { load.waitUntilRunning(jobs: batch, probe: probe) }
                let tokensBefore = try Self.generatedTokens(probe)
                let result = try Self.measureCalls(method, socket: socket, connections: count, seconds: seconds)
                let tokensPerSecond = Double(try Self.generatedTokens(probe) - tokensBefore) / result.elapsed
                load?.stop()
                print(String(format: "%11d | %@ | %14.0f | %6.3f | %6.3f | %14.0f | %9.0f%% | %15.0f",
                             count, (generating ? "generating" : "idle      ") as NSString, result.perSecond, result.p50 * 1e3, result.p99 * 1e3,
                             ceiling, 100 * result.perSecond / ceiling, tokensPerSecond))
            }
        }
    }

    static func generatedTokens(_ client: RPCClient) throws -> Int {
        try client.call("status")["engine"]?["generatedTokens"]?.numberValue?.int ?? 0
    }

    struct Measurement {
        var perSecond: Double
        var p50: Double
        var p99: Double
        var elapsed: Double
    }

    /// `connections` threads, each with its own connection, call `method` back to back for `seconds`.
    static func measureCalls(_ method: String, socket: String, connections: Int, seconds: Double) throws -> Measurement {
        let clients = try (0..<connections).map { _ in try RPCClient(socketPath: socket) }
        let latencies = Mutex<[UInt64]>([])
        let failures = Atomic<Int>(0)
        let start = Clock.now()
        let deadline = start + UInt64(seconds * 1e9)
        let group = DispatchGroup()
        for client in clients {
            let box = UncheckedBox(client)
            group.enter()
            Thread {
                var mine: [UInt64] = []
                mine.reserveCapacity(1 << 16)
                while Clock.now() < deadline {
                    let t0 = Clock.now()
                    do { _ = try box.value.call(method) } catch { failures.add(1, ordering: .relaxed) }
                    mine.append(Clock.now() - t0)
                }
                latencies.withLock { $0 += mine }
                group.leave()
            }.start()
        }
        group.wait()
        let elapsed = Clock.seconds(since: start)
        if failures.load(ordering: .relaxed) > 0 { print("warning: \(failures.load(ordering: .relaxed)) \(method) calls failed") }
        let sorted = latencies.withLock { $0 }.sorted()
        func quantile(_ q: Double) -> Double {
            sorted.isEmpty ? .nan : Double(sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]) / 1e9
        }
        return Measurement(perSecond: Double(sorted.count) / elapsed, p50: quantile(0.5), p99: quantile(0.99), elapsed: elapsed)
    }
}

/// A value handed to one thread that alone uses it.
final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Keeps the engine at full batch: `jobs` threads, each submitting a generate job as soon as its previous one
/// ended, until stopped.
final class GenerateLoad: @unchecked Sendable {
    private let stopping = Atomic<Bool>(false)
    private let group = DispatchGroup()

    init(socket: String, jobs: Int, tokens: Int) throws {
        let params: JSONValue = ["prompt": "Once upon a time", "maxTokens": .int(tokens), "ignoreEos": true, "temperature": 0.8]
        for _ in 0..<jobs {
            let client = UncheckedBox(try RPCClient(socketPath: socket))
            group.enter()
            Thread { [self] in
                while !stopping.load(ordering: .relaxed) {
                    if (try? client.value.call("generate", params: params)) == nil { break }
                }
                group.leave()
            }.start()
        }
    }

    /// Waits until the engine runs `jobs` jobs (at most 10 s).
    func waitUntilRunning(jobs: Int, probe: RPCClient) {
        for _ in 0..<1000 {
            if let running = try? probe.call("status")["engine"]?["runningJobs"]?.numberValue?.int, running >= jobs { return }
            usleep(10_000)
        }
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        group.wait()
    }
}
