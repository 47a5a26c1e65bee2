import Dispatch
import Foundation
@testable import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Synchronization
import Testing

/// The setLoras line on the random model, without fixtures and without sleeps: builds wait on gates the test
/// opens, time moves only when the test advances the engine's clock, and actions that must happen while a job
/// is running are taken by that job's sink, on the engine thread, between two of its tokens.
@Suite struct SetLorasLineTests {
    /// An event log whose first `tokens` event runs `action` once (on the engine thread).
    static func onFirstToken(_ action: @escaping @Sendable () -> Void) -> EventLog {
        let fired = Atomic<Bool>(false)
        return EventLog { event in
            if case .tokens = event, !fired.exchange(true, ordering: .sequentiallyConsistent) { action() }
        }
    }

    @Test func jobsSubmittedWhileACallBuildsRunUnderItsSet() throws {
        let timeline = Timeline()
        let engine = try RandomEngine.engine(commitHook: { c in timeline.add("commit \(c.epoch)") })
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let gate = Gate(), outcome = Outcome()
        engine.setLoras(building: { gate.wait(); return red }, timeout: nil, onTimeout: .abort, completion: outcome.completion)
        let log = EventLog { if case .started = $0 { timeline.add("started") } }
        let b = try engine.submit(RandomEngine.job(6), sink: log.sink)
        #expect(engine.status().pendingSetLoras == 1, "building")
        gate.open()
        let result = try #require(outcome.wait()).get()
        #expect(result.epoch == 1)
        #expect(log.waitFinished(1))
        let rb = try #require(log[b])
        #expect(rb.startedEpoch == 1, "held from the call's arrival, before its set was built")
        #expect(rb.summary?.adapters == [AdapterDescription(name: "red", scale: 1)])
        #expect(timeline.all == ["commit 1", "started"])
        #expect(rb.tokens == (try runOne(engine, RandomEngine.job(6))).tokens, "the held job ran under the new set")
        #expect(engine.status().pendingSetLoras == 0)
    }

    @Test func aFailedBuildReleasesTheHeldJobsUnderTheSetInForce() throws {
        struct BadAdapter: Error {}
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let gate = Gate(), outcome = Outcome()
        engine.setLoras(building: { gate.wait(); throw BadAdapter() }, timeout: nil, onTimeout: .abort, completion: outcome.completion)
        let log = EventLog()
        let b = try engine.submit(RandomEngine.job(4), sink: log.sink)
        gate.open()
        #expect(throws: BadAdapter.self) { try #require(outcome.wait()).get() }
        #expect(log.waitFinished(1))
        #expect(log[b]?.startedEpoch == 0)
        #expect(engine.status().epoch == 0)
        #expect(engine.status().pendingSetLoras == 0)
    }

    @Test func theTimeoutBoundsTheBuild() throws {
        let clock = ManualClock()
        let engine = try RandomEngine.engine(clock: clock)
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let gate = Gate(), outcome = Outcome()
        engine.setLoras(building: { gate.wait(); return red }, timeout: .milliseconds(10), onTimeout: .abort, completion: outcome.completion)
        let log = EventLog()
        let b = try engine.submit(RandomEngine.job(4), sink: log.sink)
        clock.advance(.milliseconds(10))
        engine.wake.signal()
        #expect(throws: EngineError.drainTimeout(stillRunning: 0, timeoutMilliseconds: 10)) { try #require(outcome.wait()).get() }
        #expect(log.waitFinished(1))
        #expect(log[b]?.startedEpoch == 0, "the held job runs under the old set")
        gate.open()  // the build ends after its call failed: its set is dropped
        let next = try engine.setLoras(prebuilt: .none)
        #expect(next.epoch == 1, "the line is free and the late set never committed")
        #expect(engine.status().adapters.isEmpty)
        #expect(EngineError.drainTimeout(stillRunning: 0, timeoutMilliseconds: 10).description.contains("building its set"))
    }

    @Test func theTimeoutBoundsTheWaitBehindAnEarlierCall() throws {
        let clock = ManualClock()
        let timeline = Timeline()
        let engine = try RandomEngine.engine(clock: clock)
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7), blue = try RandomEngine.set(engine, "blue", seed: 8)
        let first = Outcome(), second = Outcome()
        let log = Self.onFirstToken {
            engine.setLoras(prebuilt: red, timeout: nil, onTimeout: .abort, completion: first.completion)
            engine.setLoras(prebuilt: blue, timeout: .milliseconds(10), onTimeout: .abort) { r in
                timeline.add("second failed")
                second.completion(r)
            }
            clock.advance(.seconds(1))
        }
        let a = try engine.submit(RandomEngine.job(30), sink: { e in
            log.record(e)
            if case .finished = e { timeline.add("a finished") }
        })
        #expect(throws: EngineError.drainTimeout(stillRunning: 1, timeoutMilliseconds: 10)) { try #require(second.wait()).get() }
        let committed = try #require(first.wait()).get()
        #expect(committed.epoch == 1)
        #expect(committed.adapters.map(\.name) == ["red"])
        #expect(timeline.all == ["second failed", "a finished"], "the second call failed while the first still drained")
        #expect(log[a]?.summary?.finishReason == .length)
        #expect(engine.status().adapters.map(\.name) == ["red"])
    }

    @Test func abortReleasesTheHeldJobsUnderTheOldSet() throws {
        let clock = ManualClock()
        let timeline = Timeline()
        let engine = try RandomEngine.engine(clock: clock)
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let outcome = Outcome()
        let held = Mutex<JobID?>(nil)
        let log = EventLog { event in
            switch event {
            case .started(let id, _) where id == held.withLock({ $0 }): timeline.add("b started")
            case .finished(let id, _) where id != held.withLock({ $0 }): timeline.add("a finished")
            default: break
            }
        }
        let trigger = Self.onFirstToken {
            engine.setLoras(prebuilt: red, timeout: .milliseconds(1), onTimeout: .abort, completion: outcome.completion)
            held.withLock { $0 = try? engine.submit(RandomEngine.job(4), sink: log.sink) }
            clock.advance(.seconds(1))
        }
        let a = try engine.submit(RandomEngine.job(30), sink: { log.record($0); trigger.record($0) })
        #expect(throws: EngineError.drainTimeout(stillRunning: 1, timeoutMilliseconds: 1)) { try #require(outcome.wait()).get() }
        #expect(log.waitFinished(2))
        let b = try #require(held.withLock { $0 })
        #expect(log[b]?.startedEpoch == 0)
        #expect(log[a]?.summary?.finishReason == .length)
        #expect(timeline.all == ["b started", "a finished"], "the held job no longer waits for the earlier one")
        #expect(engine.status().epoch == 0)
    }

    @Test func cancelRunsTheCommitHookBeforeCancelling() throws {
        let clock = ManualClock()
        let timeline = Timeline()
        let engine = try RandomEngine.engine(clock: clock, commitHook: { _ in timeline.add("hook") })
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let outcome = Outcome()
        let trigger = Self.onFirstToken {
            engine.setLoras(prebuilt: red, timeout: .milliseconds(1), onTimeout: .cancel, completion: outcome.completion)
            clock.advance(.seconds(1))
        }
        let log = EventLog { if case .finished = $0 { timeline.add("a finished") } }
        let a = try engine.submit(RandomEngine.job(30), sink: { log.record($0); trigger.record($0) })
        let result = try #require(outcome.wait()).get()
        #expect(result.epoch == 1)
        #expect(result.jobsCancelled == 1)
        #expect(result.waitedMilliseconds >= 1000, "measured on the engine's clock from the arrival")
        #expect(log.waitFinished(1))
        #expect(log[a]?.summary?.finishReason == .cancelled)
        #expect(log[a]?.summary?.epoch == 0)
        #expect(timeline.all == ["hook", "a finished"])
    }

    @Test func cancelWithAFailingCommitHookCancelsNothing() throws {
        struct DiskFull: Error {}
        let clock = ManualClock()
        let engine = try RandomEngine.engine(clock: clock, commitHook: { _ in throw DiskFull() })
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let outcome = Outcome()
        let trigger = Self.onFirstToken {
            engine.setLoras(prebuilt: red, timeout: .milliseconds(1), onTimeout: .cancel, completion: outcome.completion)
            clock.advance(.seconds(1))
        }
        let log = EventLog()
        let a = try engine.submit(RandomEngine.job(30), sink: { log.record($0); trigger.record($0) })
        #expect(throws: EngineError.commitFailed("\(DiskFull())")) { try #require(outcome.wait()).get() }
        #expect(log.waitFinished(1))
        let ra = try #require(log[a])
        #expect(ra.summary?.finishReason == .length, "the earlier job was not cancelled for a commit that did not happen")
        #expect(ra.tokens.count == 30)
        #expect(engine.status().epoch == 0)
    }

    @Test func laterCallsWaitForAnEarlierOneStillBuilding() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7), blue = try RandomEngine.set(engine, "blue", seed: 8)
        let gate = Gate(), first = Outcome(), second = Outcome()
        engine.setLoras(building: { gate.wait(); return red }, timeout: nil, onTimeout: .abort, completion: first.completion)
        engine.setLoras(prebuilt: blue, timeout: nil, onTimeout: .abort, completion: second.completion)
        #expect(engine.status().pendingSetLoras == 2, "one call building, one waiting for its turn: each counted once")
        #expect(second.now == nil)
        gate.open()
        let r1 = try #require(first.wait()).get(), r2 = try #require(second.wait()).get()
        #expect(r1.epoch == 1 && r1.adapters.map(\.name) == ["red"])
        #expect(r2.epoch == 2 && r2.adapters.map(\.name) == ["blue"])
        #expect(engine.status().adapters.map(\.name) == ["blue"], "the call that arrived last is the set in force")
        #expect(engine.status().pendingSetLoras == 0)
    }

    @Test func callsInLineFailWhenTheEngineShutsDown() throws {
        let engine = try RandomEngine.engine()
        let gate = Gate(), first = Outcome(), second = Outcome()
        engine.setLoras(building: { gate.wait(); return .none }, timeout: nil, onTimeout: .abort, completion: first.completion)
        engine.setLoras(prebuilt: .none, timeout: nil, onTimeout: .abort, completion: second.completion)
        engine.shutdown()
        gate.open()
        for outcome in [first, second] {
            #expect(throws: EngineError.shutDown) { try #require(outcome.wait()).get() }
        }
        let late = Outcome()
        engine.setLoras(prebuilt: .none, timeout: nil, onTimeout: .abort, completion: late.completion)
        #expect(throws: EngineError.shutDown) { try #require(late.wait()).get() }
    }

    @Test func blockingCallsFromTheEngineThreadAreRefused() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let errors = Mutex<[String]>([])
        let done = Gate()
        let log = Self.onFirstToken {
            do { _ = try engine.setLoras([]) } catch { errors.withLock { $0.append("sink: \(error)") } }
            engine.setLoras(prebuilt: .none, timeout: nil, onTimeout: .abort) { _ in
                do { _ = try engine.setLoras(prebuilt: .none) } catch { errors.withLock { $0.append("completion: \(error)") } }
                done.open()
            }
        }
        _ = try engine.submit(RandomEngine.job(3), sink: log.sink)
        #expect(done.wait(), "the engine thread did not deadlock")
        let refused = EngineError.blockingCallOnEngineThread("setLoras")
        #expect(errors.withLock { $0 } == ["sink: \(refused)", "completion: \(refused)"])
        #expect(engine.status().epoch == 1, "the completion-form call from the sink went through")
        #expect(try engine.setLoras(prebuilt: .none).epoch == 2, "off the engine thread the blocking form works")
    }

    @Test func aFarDeadlineDoesNotSpinTheIdleEngine() throws {
        let engine = try RandomEngine.engine()  // the real clock: the deadline reaches libdispatch
        defer { engine.shutdown() }
        let gate = Gate(), outcome = Outcome()
        // 2^33 s from now is past 2^62 ns of uptime.
        engine.setLoras(building: { gate.wait(); return .none }, timeout: .seconds(Int64(1) << 33), onTimeout: .abort,
                        completion: outcome.completion)
        #expect(eventually { engine.wakeUps.load(ordering: .relaxed) >= 1 })
        let before = engine.wakeUps.load(ordering: .relaxed)
        _ = Gate().wait(seconds: 0.2)  // a window to count wake-ups in, not a race
        let woke = engine.wakeUps.load(ordering: .relaxed) - before
        #expect(woke < 10, "the idle engine woke \(woke) times in 200 ms")
        gate.open()
        #expect(try #require(outcome.wait()).get().epoch == 1)
    }
}
