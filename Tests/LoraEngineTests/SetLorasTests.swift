import Dispatch
import Foundation
import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Synchronization
import Testing

/// The setLoras transaction on a real engine. A slow job is made slow by its sink sleeping on the engine
/// thread (tests only: a real sink must never block).
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct SetLorasTests {
    static func slowJob(_ tokens: Int) -> GenerationRequest {
        GenerationRequest(prompt: .text("Once upon a time"), sampling: .greedy, stop: StopConditions(maxNewTokens: tokens, ignoreEos: true))
    }
    static let quickJob = GenerationRequest(prompt: .text("One day, a little dog"), sampling: .greedy, stop: StopConditions(maxNewTokens: 8, ignoreEos: true))

    /// Submits a job whose every token takes `msPerToken` and waits until it has started.
    static func startSlow(_ engine: Engine, _ log: EventLog, tokens: Int, msPerToken: UInt32 = 2) throws -> JobID {
        let slowIDs = Mutex<Set<JobID>>([])
        let sink: JobSink = { event in
            log.record(event)
            if case .tokens(let id, _, _, _) = event, slowIDs.withLock({ $0.contains(id) }) { usleep(msPerToken * 1000) }
        }
        let id = try engine.submit(slowJob(tokens), sink: sink)
        slowIDs.withLock { _ = $0.insert(id) }
        #expect(eventually { log[id]?.tokens.isEmpty == false })
        return id
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    @Test func heldJobStartsOnlyAfterTheCommit() throws {
        let stories = try Stories.load()
        let commitAt = Mutex<UInt64>(0)
        let engine = try stories.engine(commitHook: { _ in commitAt.withLock { $0 = Self.now() } })
        defer { engine.shutdown() }
        let log = EventLog()
        let a = try Self.startSlow(engine, log, tokens: 40)
        let outcome = Mutex<Result<SetLorasResult, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        engine.setLoras(prebuilt: try engine.buildSet(stories.entries([("dragon", 1)])), timeout: nil, onTimeout: .abort) { r in
            outcome.withLock { $0 = r }
            done.signal()
        }
        let b = try engine.submit(Self.quickJob, sink: log.sink)
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(log.waitFinished(2))
        let result = try #require(outcome.withLock { $0 }).get()
        #expect(result.epoch == 1)
        #expect(result.jobsDrained == 1)
        #expect(result.jobsCancelled == 0)
        let ra = try #require(log[a]), rb = try #require(log[b])
        #expect(ra.summary?.epoch == 0)
        #expect(ra.summary?.finishReason == .length)
        #expect(rb.startedEpoch == 1)
        #expect(rb.summary?.adapters == [AdapterDescription(name: "dragon", scale: 1)])
        let committed = commitAt.withLock { $0 }
        #expect(committed >= (ra.finishedAt ?? .max), "commit after the earlier job finished")
        #expect((rb.startedAt ?? 0) >= committed, "held job starts after the commit")
        // B ran under dragon: same tokens as alone under dragon.
        let alone = try runAlone(stories, Self.quickJob, adapters: [("dragon", 1)])
        #expect(rb.tokens == alone.tokens)
    }

    @Test func commitHookFailureRollsBack() throws {
        struct DiskFull: Error, Equatable {}
        let stories = try Stories.load()
        let engine = try stories.engine(commitHook: { _ in throw DiskFull() })
        defer { engine.shutdown() }
        #expect(throws: EngineError.commitFailed("\(DiskFull())")) { try engine.setLoras(stories.entries([("dragon", 1)])) }
        #expect(engine.status().epoch == 0)
        let job = try runOne(engine, Self.quickJob)
        #expect(job.summary?.epoch == 0)
        #expect(job.summary?.adapters == [])
        #expect(job.tokens == (try runAlone(stories, Self.quickJob, adapters: [])).tokens)
    }

    @Test func idleCommitsAndEmptySet() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let first = try engine.setLoras(stories.entries([("dragon", 0.5), ("snow", 0.5)]))
        #expect(first.epoch == 1)
        #expect(first.adapters == [AdapterDescription(name: "dragon", scale: 0.5), AdapterDescription(name: "snow", scale: 0.5)])
        #expect(first.jobsDrained == 0)
        let second = try engine.setLoras([])
        #expect(second.epoch == 2)
        #expect(second.adapters.isEmpty)
        #expect(engine.status().epoch == 2)
        // An invalid set changes nothing.
        let bad = AdapterSet.Entry(adapter: stories.dragon, scale: .nan)
        #expect(throws: EngineError.self) { try engine.setLoras([bad]) }
        #expect(engine.status().epoch == 2)
    }
}

extension SetLorasTests {
    @Test func concurrentCallsAreServedInArrivalOrder() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let log = EventLog()
        let a = try Self.startSlow(engine, log, tokens: 30)
        let results = Mutex<[Result<SetLorasResult, any Error>]>([])
        let done = DispatchSemaphore(value: 0)
        let record: @Sendable (Result<SetLorasResult, any Error>) -> Void = { r in
            results.withLock { $0.append(r) }
            done.signal()
        }
        engine.setLoras(prebuilt: try engine.buildSet(stories.entries([("dragon", 1)])), timeout: nil, onTimeout: .abort, completion: record)
        let between = try engine.submit(Self.quickJob, sink: log.sink)  // after the first call, before the second
        engine.setLoras(prebuilt: try engine.buildSet(stories.entries([("snow", 1)])), timeout: nil, onTimeout: .abort, completion: record)
        let after = try engine.submit(Self.quickJob, sink: log.sink)
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(done.wait(timeout: .now() + 20) == .success)
        #expect(log.waitFinished(3))
        let outcomes = try results.withLock { $0 }.map { try $0.get() }
        #expect(outcomes.map(\.epoch) == [1, 2])
        #expect(outcomes.map { $0.adapters.map(\.name) } == [["dragon"], ["snow"]])
        #expect(outcomes.last?.jobsDrained == 2, "the second call waits for the job submitted between the calls, and for the first job")
        #expect(log[a]?.summary?.epoch == 0)
        #expect(log[between]?.summary?.epoch == 1)
        #expect(log[between]?.summary?.adapters.map(\.name) == ["dragon"])
        #expect(log[after]?.summary?.epoch == 2)
        #expect(log[after]?.tokens == (try runAlone(stories, Self.quickJob, adapters: [("snow", 1)])).tokens)
    }
}
