import Dispatch
import Foundation
@testable import LoraEngine
import LoraEngineTestSupport
import Synchronization
import Testing

/// `Engine.probe`: the liveness signal the daemon's systemd watchdog is fed from.
@Suite struct ProbeTests {
    @Test func anIdleEngineAnswersOnItsOwnThread() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let answered = Atomic<Int>(0)
        let onEngineThread = Atomic<Bool>(false)
        for _ in 0..<3 {
            #expect(engine.probe {
                onEngineThread.store(engine.onEngineThread, ordering: .relaxed)
                answered.add(1, ordering: .relaxed)
            })
        }
        #expect(eventually { answered.load(ordering: .relaxed) == 3 }, "an idle engine wakes up to answer")
        let ranOnEngineThread = onEngineThread.load(ordering: .relaxed)
        #expect(ranOnEngineThread)
    }

    @Test func aBusyEngineAnswersBetweenSteps() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let finished = Atomic<Bool>(false)
        try engine.submit(RandomEngine.job(400)) { event in
            if case .finished = event { finished.store(true, ordering: .relaxed) }
        }
        let answeredWhileRunning = Atomic<Int>(-1)
        engine.probe { answeredWhileRunning.store(finished.load(ordering: .relaxed) ? 0 : 1, ordering: .relaxed) }
        #expect(eventually { answeredWhileRunning.load(ordering: .relaxed) != -1 })
        let whileRunning = answeredWhileRunning.load(ordering: .relaxed)
        #expect(whileRunning == 1, "the probe does not wait for the job to end")
    }

    @Test func aStalledEngineDoesNotAnswer() throws {
        let engine = try RandomEngine.engine()
        let release = DispatchSemaphore(value: 0)
        // The first probe's answer blocks the engine thread: the way the daemon's test hook stalls it.
        engine.probe { release.wait() }
        let second = Atomic<Bool>(false)
        engine.probe { second.store(true, ordering: .relaxed) }
        Thread.sleep(forTimeInterval: 0.3)
        let answeredWhileStuck = second.load(ordering: .relaxed)
        #expect(!answeredWhileStuck, "a stuck engine thread must not answer")
        release.signal()
        #expect(eventually { second.load(ordering: .relaxed) })
        engine.shutdown()
        #expect(!engine.probe {}, "a stopped engine refuses probes")
    }
}
