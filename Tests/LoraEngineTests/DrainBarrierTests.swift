@testable import LoraEngine
import Testing

@Suite struct DrainBarrierTests {
    static func request(_ id: UInt64, holdFrom: JobID, at now: UInt64 = 0, timeout: UInt64?, _ onTimeout: OnTimeout = .abort) -> DrainBarrier.Request {
        DrainBarrier.Request(id: id, holdFrom: holdFrom, arrivedAt: now, timeoutNanos: timeout, onTimeout: onTimeout)
    }

    /// A call that arrives with its set already built.
    static func arrivedBuilt(_ b: inout DrainBarrier, _ r: DrainBarrier.Request) {
        b.arrived(r)
        b.built(r.id)
    }

    @Test func commitsWhenEarlierJobsFinishAndHoldsLaterOnes() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        b.jobSubmitted(2)
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 3, timeout: 1000))
        b.jobSubmitted(3)
        #expect(b.poll(now: 0) == nil)
        #expect(b.holdFrom == 3)
        b.jobFinished(1)
        #expect(b.poll(now: 10) == nil)
        b.jobFinished(2)
        #expect(b.poll(now: 20) == .commit(request: 10, drained: 2, waitedNanos: 20))
        #expect(b.holdFrom == nil)
        #expect(b.poll(now: 30) == nil)
    }

    @Test func abortAtTheDeadlineChangesNothing() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        b.jobSubmitted(2)
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 3, timeout: 100))
        #expect(b.poll(now: 0) == nil)
        b.jobFinished(2)
        #expect(b.deadline == 100)
        #expect(b.poll(now: 99) == nil)
        #expect(b.poll(now: 100) == .fail(request: 10, stillRunning: 1, waitedNanos: 100))
        #expect(b.holdFrom == nil, "held jobs proceed")
    }

    @Test func hugeTimeoutsSaturateInsteadOfWrapping() {
        #expect(Engine.nanoseconds(.seconds(Int64.max)) == .max)
        #expect(Engine.nanoseconds(.milliseconds(1500)) == 1_500_000_000)
        var b = DrainBarrier()
        b.jobSubmitted(1)
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 2, at: 5, timeout: .max))
        #expect(b.poll(now: 1_000) == nil, "a deadline past the end of time is not in the past")
        #expect(b.deadline == .max)
        // The idle engine sleeps towards a far deadline in bounded slices, never handing libdispatch an
        // absolute time past 2^62 (read as a wall-clock time in the past: the idle thread spun).
        #expect(EngineLoop.waitSlice(deadline: .max, now: 1_000) == EngineLoop.longestWaitNanos)
        #expect(EngineLoop.waitSlice(deadline: 1 << 62, now: 0) == EngineLoop.longestWaitNanos)
        #expect(EngineLoop.waitSlice(deadline: 1_500, now: 1_000) == 500)
        #expect(EngineLoop.waitSlice(deadline: 900, now: 1_000) == 0)
    }

    @Test func cancelAtTheDeadlineCancelsAndCommitsInOneAction() {
        var b = DrainBarrier()
        for id: JobID in 1...3 { b.jobSubmitted(id) }
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 4, timeout: 50, .cancel))
        #expect(b.poll(now: 0) == nil)
        b.jobFinished(3)
        // One action: the owner runs the commit hook before cancelling anything.
        #expect(b.poll(now: 60) == .cancelAndCommit(request: 10, jobs: [1, 2], drained: 1, waitedNanos: 60))
        #expect(b.count == 0)
        #expect(b.poll(now: 61) == nil)
    }

    @Test func servesRequestsInArrivalOrder() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 2, timeout: nil))
        b.jobSubmitted(2)  // after the first call, before the second
        Self.arrivedBuilt(&b, Self.request(11, holdFrom: 3, at: 1, timeout: nil))
        b.jobSubmitted(3)
        #expect(b.poll(now: 0) == nil)
        #expect(b.holdFrom == 2)
        b.jobFinished(1)
        #expect(b.poll(now: 5) == .commit(request: 10, drained: 1, waitedNanos: 5))
        // The second call now waits for job 2, which runs under the first call's set; job 3 stays held.
        #expect(b.poll(now: 6) == nil)
        #expect(b.holdFrom == 3)
        #expect(b.deadline == nil, "no timeout: waits for ever")
        b.jobFinished(2)
        #expect(b.poll(now: 9) == .commit(request: 11, drained: 2, waitedNanos: 8), "jobs 1 and 2 were both live when it arrived")
        #expect(b.poll(now: 10) == nil)
    }

    @Test func idleCommitIsImmediate() {
        var b = DrainBarrier()
        Self.arrivedBuilt(&b, Self.request(1, holdFrom: 1, at: 7, timeout: 0))
        #expect(b.poll(now: 7) == .commit(request: 1, drained: 0, waitedNanos: 0))
    }

    @Test func aCallHoldsLaterJobsFromItsArrivalWhileItBuilds() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        b.arrived(Self.request(10, holdFrom: 2, timeout: nil))
        b.jobSubmitted(2)  // submitted while the call builds its set
        #expect(b.holdFrom == 2, "held from the arrival, not from the end of the build")
        b.jobFinished(1)
        #expect(b.poll(now: 1) == nil, "not built: no commit even with nothing to drain")
        #expect(b.holdFrom == 2)
        b.built(10)
        #expect(b.poll(now: 2) == .commit(request: 10, drained: 1, waitedNanos: 2))
        #expect(b.holdFrom == nil)
    }

    @Test func theTimeoutCountsTheBuildFromTheArrival() {
        var b = DrainBarrier()
        b.arrived(Self.request(10, holdFrom: 1, at: 100, timeout: 50))
        #expect(b.deadline == 150)
        #expect(b.poll(now: 149) == nil)
        #expect(b.poll(now: 150) == .fail(request: 10, stillRunning: 0, waitedNanos: 50))
        let removed = b.remove(10)
        #expect(!removed, "a build that ends after the timeout finds the call gone")
    }

    @Test func theTimeoutCountsTheWaitBehindAnEarlierCall() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 2, timeout: nil))  // drains job 1 for ever
        Self.arrivedBuilt(&b, Self.request(11, holdFrom: 2, at: 10, timeout: 20))
        b.jobSubmitted(2)
        #expect(b.deadline == 30)
        #expect(b.poll(now: 30) == .fail(request: 11, stillRunning: 1, waitedNanos: 20))
        #expect(b.holdFrom == 2, "job 2 is still held by the first call")
        b.jobFinished(1)
        #expect(b.poll(now: 40) == .commit(request: 10, drained: 1, waitedNanos: 40))
    }

    @Test func aCancelCallBehindAnotherNeverCancelsItsJobs() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        Self.arrivedBuilt(&b, Self.request(10, holdFrom: 2, timeout: nil))
        Self.arrivedBuilt(&b, Self.request(11, holdFrom: 2, timeout: 5, .cancel))
        #expect(b.deadline == nil, "a cancel call not at the head has nothing to do at its deadline")
        #expect(b.poll(now: 100) == nil)
        b.jobFinished(1)
        #expect(b.poll(now: 101) == .commit(request: 10, drained: 1, waitedNanos: 101))
        // At the head, past its deadline, with nothing left to cancel.
        #expect(b.poll(now: 102) == .commit(request: 11, drained: 1, waitedNanos: 102))
    }

    @Test func aFailedBuildLeavesTheLine() {
        var b = DrainBarrier()
        b.arrived(Self.request(10, holdFrom: 1, timeout: nil))
        Self.arrivedBuilt(&b, Self.request(11, holdFrom: 1, timeout: nil))
        #expect(b.poll(now: 0) == nil, "the later call waits for the earlier one still building")
        let removed = b.remove(10)
        #expect(removed)
        #expect(b.poll(now: 1) == .commit(request: 11, drained: 0, waitedNanos: 1))
    }
}
