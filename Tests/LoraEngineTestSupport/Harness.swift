import Dispatch
import Foundation
import Logging
import LoraEngine
import LoraModel
import LoraTestFixtures
import LoraTokenizer
import Synchronization

/// stories260K with its tokenizer and adapters, loaded once.
public struct Stories: Sendable {
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    public let dragon: LoraAdapter
    public let snow: LoraAdapter

    static let loaded: Result<Stories, any Error> = Result {
        let dir = FixtureLocation.model("stories260K")
        let model = try LlamaModel(directory: dir)
        return Stories(
            model: model, tokenizer: try Tokenizer(directory: dir),
            dragon: try LoraAdapter(directory: FixtureLocation.adapter("stories260K", "dragon"), model: model.config, name: "dragon"),
            snow: try LoraAdapter(directory: FixtureLocation.adapter("stories260K", "snow"), model: model.config, name: "snow"))
    }

    public static func load() throws -> Stories { try loaded.get() }

    public func adapter(_ name: String) -> LoraAdapter? {
        switch name {
        case "dragon": return dragon
        case "snow": return snow
        default: return nil
        }
    }

    public func entries(_ list: [(String, Float)]) -> [AdapterSet.Entry] {
        list.compactMap { name, scale in adapter(name).map { AdapterSet.Entry(adapter: $0, scale: scale) } }
    }

    public func engine(_ configuration: EngineConfiguration = EngineConfiguration(kvCacheTokens: 8192), adapters: [(String, Float)] = [], commitHook: CommitHook? = nil) throws -> Engine {
        let set = adapters.isEmpty ? AdapterSet.none : try AdapterSet(entries(adapters), model: model, mode: configuration.loraMode)
        var logger = Logger(label: "test.engine")
        logger.logLevel = .critical
        return try Engine(model: model, tokenizer: tokenizer, configuration: configuration, adapters: set, logger: logger, commitHook: commitHook)
    }
}

/// Everything a job reported, in order.
public struct JobRecord: Sendable {
    public var startedEpoch: UInt64?
    public var startedAt: UInt64?
    public var tokens: [Int32] = []
    public var text = ""
    public var logprobs: [Float] = []
    public var summary: JobSummary?
    public var finishedAt: UInt64?
    /// Events that broke the order (tokens before started, anything after finished, two starts).
    public var outOfOrder = 0
}

/// Collects events from any number of jobs; tests wait on it.
public final class EventLog: Sendable {
    public let records = Mutex<[JobID: JobRecord]>([:])
    private let finishedSignal = DispatchSemaphore(value: 0)
    /// Called with every event after it is recorded (tests that act on events).
    public let onEvent: (@Sendable (JobEvent) -> Void)?

    public init(onEvent: (@Sendable (JobEvent) -> Void)? = nil) { self.onEvent = onEvent }

    public var sink: JobSink { { [self] event in self.record(event) } }

    public func record(_ event: JobEvent) {
        let now = DispatchTime.now().uptimeNanoseconds
        var finished = false
        records.withLock { all in
            switch event {
            case let .started(id, epoch):
                var r = all[id] ?? JobRecord()
                if r.startedEpoch != nil || r.summary != nil { r.outOfOrder += 1 }
                r.startedEpoch = epoch
                r.startedAt = now
                all[id] = r
            case let .tokens(id, ids, text, logprobs):
                var r = all[id] ?? JobRecord()
                if r.startedEpoch == nil || r.summary != nil { r.outOfOrder += 1 }
                r.tokens += ids
                r.text += text
                r.logprobs += logprobs ?? []
                all[id] = r
            case let .finished(id, summary):
                var r = all[id] ?? JobRecord()
                if r.summary != nil { r.outOfOrder += 1 }
                r.summary = summary
                r.finishedAt = now
                all[id] = r
                finished = true
            }
        }
        onEvent?(event)
        if finished { finishedSignal.signal() }
    }

    /// Waits for `count` finished events; false on timeout.
    public func waitFinished(_ count: Int, seconds: Double = 30) -> Bool {
        for _ in 0..<count where finishedSignal.wait(timeout: .now() + seconds) == .timedOut { return false }
        return true
    }

    public subscript(id: JobID) -> JobRecord? { records.withLock { $0[id] } }
}

/// Polls `condition` until it holds or `seconds` pass.
public func eventually(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    while DispatchTime.now().uptimeNanoseconds < deadline {
        if condition() { return true }
        usleep(500)
    }
    return condition()
}

/// Runs `request` alone on a fresh engine with `adapters`; returns its record.
public func runAlone(_ stories: Stories, _ request: GenerationRequest, adapters: [(String, Float)]) throws -> JobRecord {
    let engine = try stories.engine(adapters: adapters)
    defer { engine.shutdown() }
    return try runOne(engine, request)
}

/// Runs `request` on `engine` and waits for it.
public func runOne(_ engine: Engine, _ request: GenerationRequest) throws -> JobRecord {
    let log = EventLog()
    let id = try engine.submit(request, sink: log.sink)
    guard log.waitFinished(1), let record = log[id] else { throw TestFailure("job \(id) did not finish") }
    return record
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
