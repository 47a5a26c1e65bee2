@testable import LoraEngine
import Testing

@Suite struct DrainBarrierTests {
    @Test func commitsWhenEarlierJobsFinishAndHoldsLaterOnes() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        b.jobSubmitted(2)
        b.enqueue(.init(id: 10, holdFrom: 3, timeoutNanos: 1000, onTimeout: .abort))
        b.jobSubmitted(3)
        #expect(b.poll(now: 0) == nil)
        #expect(b.holdFrom == 3)
        b.jobFinished(1)
        #expect(b.poll(now: 10) == nil)
        b.jobFinished(2)
        #expect(b.poll(now: 20) == .commit(request: 10, drained: 2, cancelled: 0, waitedNanos: 20))
        #expect(b.holdFrom == nil)
        #expect(b.poll(now: 30) == nil)
    }

    @Test func abortAtTheDeadlineChangesNothing() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        b.jobSubmitted(2)
        b.enqueue(.init(id: 10, holdFrom: 3, timeoutNanos: 100, onTimeout: .abort))
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
        b.enqueue(.init(id: 10, holdFrom: 2, timeoutNanos: .max, onTimeout: .abort))
        #expect(b.poll(now: 1_000) == nil, "a deadline past the end of time is not in the past")
        #expect(b.deadline == .max)
    }

    @Test func cancelAtTheDeadlineThenCommits() {
        var b = DrainBarrier()
        for id: JobID in 1...3 { b.jobSubmitted(id) }
        b.enqueue(.init(id: 10, holdFrom: 4, timeoutNanos: 50, onTimeout: .cancel))
        #expect(b.poll(now: 0) == nil)
        b.jobFinished(3)
        #expect(b.poll(now: 60) == .cancel(request: 10, jobs: [1, 2]))
        b.jobFinished(1)
        b.jobFinished(2)
        #expect(b.poll(now: 61) == .commit(request: 10, drained: 1, cancelled: 2, waitedNanos: 61))
    }

    @Test func servesRequestsInArrivalOrder() {
        var b = DrainBarrier()
        b.jobSubmitted(1)
        b.enqueue(.init(id: 10, holdFrom: 2, timeoutNanos: nil, onTimeout: .abort))
        b.jobSubmitted(2)  // after the first call, before the second
        b.enqueue(.init(id: 11, holdFrom: 3, timeoutNanos: nil, onTimeout: .abort))
        b.jobSubmitted(3)
        #expect(b.poll(now: 0) == nil)
        #expect(b.holdFrom == 2)
        b.jobFinished(1)
        #expect(b.poll(now: 5) == .commit(request: 10, drained: 1, cancelled: 0, waitedNanos: 5))
        // The second call now waits for job 2, which runs under the first call's set; job 3 stays held.
        #expect(b.poll(now: 6) == nil)
        #expect(b.holdFrom == 3)
        #expect(b.deadline == nil, "no timeout: waits for ever")
        b.jobFinished(2)
        #expect(b.poll(now: 9) == .commit(request: 11, drained: 1, cancelled: 0, waitedNanos: 3))
        #expect(b.poll(now: 10) == nil)
    }

    @Test func idleCommitIsImmediate() {
        var b = DrainBarrier()
        b.enqueue(.init(id: 1, holdFrom: 1, timeoutNanos: 0, onTimeout: .abort))
        #expect(b.poll(now: 7) == .commit(request: 1, drained: 0, cancelled: 0, waitedNanos: 0))
    }
}
