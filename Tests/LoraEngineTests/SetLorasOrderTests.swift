import Dispatch
import Foundation
@testable import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Synchronization
import Testing

/// Concurrent setLoras calls commit in the order they arrived even when a later one finishes building its set
/// first. A call still building is played by taking its ticket and installing its set later by hand (the two
/// steps `setLoras(_:timeout:onTimeout:)` performs around its build), which makes the slow build exact.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct SetLorasOrderTests {
    final class Outcomes: Sendable {
        let results = Mutex<[String: Result<SetLorasResult, any Error>]>([:])
        let done = DispatchSemaphore(value: 0)
        func record(_ name: String) -> @Sendable (Result<SetLorasResult, any Error>) -> Void {
            { r in
                self.results.withLock { $0[name] = r }
                self.done.signal()
            }
        }
        subscript(name: String) -> Result<SetLorasResult, any Error>? { results.withLock { $0[name] } }
    }

    @Test func aLaterCallWaitsForAnEarlierOneStillBuilding() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let outcomes = Outcomes()
        let slow = engine.takeTicket()  // the first call arrives and starts building
        engine.setLoras(prebuilt: try engine.buildSet(stories.entries([("snow", 1)])), timeout: nil, onTimeout: .abort,
                        completion: outcomes.record("second"))
        // The second call's set is ready, but its turn has not come: nothing is installed or committed.
        #expect(outcomes.done.wait(timeout: .now() + .milliseconds(200)) == .timedOut)
        #expect(engine.status().epoch == 0)
        #expect(engine.status().pendingSetLoras == 2, "one call building, one waiting for its turn")
        engine.install(ticket: slow, Engine.PendingSetLoras(set: try engine.buildSet(stories.entries([("dragon", 1)])), timeoutNanos: nil,
                                                            onTimeout: .abort, completion: outcomes.record("first")))
        #expect(outcomes.done.wait(timeout: .now() + 20) == .success)
        #expect(outcomes.done.wait(timeout: .now() + 20) == .success)
        #expect(engine.status().pendingSetLoras == 0, "both calls finished")
        let first = try #require(outcomes["first"]).get(), second = try #require(outcomes["second"]).get()
        #expect(first.epoch == 1)
        #expect(first.adapters.map(\.name) == ["dragon"])
        #expect(second.epoch == 2)
        #expect(second.adapters.map(\.name) == ["snow"])
        #expect(engine.status().adapters.map(\.name) == ["snow"], "the call that arrived last is the set in force")
    }

    @Test func aFailedBuildLetsTheNextCallThrough() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let outcomes = Outcomes()
        let failing = engine.takeTicket()
        engine.setLoras(prebuilt: try engine.buildSet(stories.entries([("snow", 1)])), timeout: nil, onTimeout: .abort,
                        completion: outcomes.record("second"))
        #expect(outcomes.done.wait(timeout: .now() + .milliseconds(100)) == .timedOut)
        #expect(engine.status().pendingSetLoras == 2)
        engine.install(ticket: failing, nil)  // its build threw: it installs nothing
        #expect(outcomes.done.wait(timeout: .now() + 20) == .success)
        let second = try #require(outcomes["second"]).get()
        #expect(second.epoch == 1)
        #expect(second.adapters.map(\.name) == ["snow"])
    }

    @Test func anInvalidCallThroughThePublicPathReleasesItsTurn() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        defer { engine.shutdown() }
        let dragon = try #require(stories.entries([("dragon", 1)]).first)
        #expect(throws: EngineError.self) {
            try engine.setLoras([AdapterSet.Entry(adapter: dragon.adapter, scale: .nan)])
        }
        let result = try engine.setLoras(stories.entries([("snow", 1)]), timeout: .seconds(20))
        #expect(result.epoch == 1)
    }

    @Test func callsWaitingForTheirTurnFailWhenTheEngineShutsDown() throws {
        let stories = try Stories.load()
        let engine = try stories.engine()
        let outcomes = Outcomes()
        let slow = engine.takeTicket()
        engine.setLoras(prebuilt: .none, timeout: nil, onTimeout: .abort, completion: outcomes.record("second"))
        engine.shutdown()
        engine.install(ticket: slow, Engine.PendingSetLoras(set: .none, timeoutNanos: nil, onTimeout: .abort, completion: outcomes.record("first")))
        #expect(outcomes.done.wait(timeout: .now() + 5) == .success)
        #expect(outcomes.done.wait(timeout: .now() + 5) == .success)
        for name in ["first", "second"] {
            #expect(throws: EngineError.shutDown, "\(name)") { try #require(outcomes[name]).get() }
        }
    }
}
