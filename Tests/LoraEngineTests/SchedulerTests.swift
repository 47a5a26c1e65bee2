@testable import LoraEngine
import Testing

@Suite struct SchedulerTests {
    @Test func decodesFirstThenPromptChunksWithinTheBudget() {
        var s = Scheduler(maxBatchSize: 4, maxChunkTokens: 8, totalPages: 100)
        s.enqueue(id: 1, promptLength: 20, pages: 2)
        var plan = s.plan()
        #expect(plan.admitted == [1])
        #expect(plan.chunks == [.init(id: 1, start: 0, count: 8, samples: false)])
        s.enqueue(id: 2, promptLength: 3, pages: 1)
        plan = s.plan()
        // Job 1 still needs 12 prompt tokens, more than the budget: job 2 waits.
        #expect(plan.admitted == [])
        #expect(plan.chunks == [.init(id: 1, start: 8, count: 8, samples: false)])
        plan = s.plan()
        #expect(plan.admitted == [2])
        #expect(plan.chunks == [.init(id: 1, start: 16, count: 4, samples: true), .init(id: 2, start: 0, count: 3, samples: true)])
        plan = s.plan()
        #expect(plan.chunks == [.init(id: 1, start: 20, count: 1, samples: true), .init(id: 2, start: 3, count: 1, samples: true)])
        #expect(plan.chunks.reduce(0) { $0 + $1.count } <= 8 + s.running.count)
    }

    @Test func admitsInArrivalOrderWhilePagesAndSlotsAllow() {
        var s = Scheduler(maxBatchSize: 2, maxChunkTokens: 100, totalPages: 10)
        s.enqueue(id: 1, promptLength: 4, pages: 6)
        s.enqueue(id: 2, promptLength: 4, pages: 6)  // does not fit beside job 1
        s.enqueue(id: 3, promptLength: 4, pages: 1)  // would fit, but arrival order keeps it behind job 2
        var plan = s.plan()
        #expect(plan.admitted == [1])
        #expect(s.freePages == 4)
        #expect(s.remove(1) == .running(pages: 6))
        #expect(s.freePages == 10)
        plan = s.plan()
        #expect(plan.admitted == [2, 3])
        s.enqueue(id: 4, promptLength: 1, pages: 1)
        plan = s.plan()
        #expect(plan.admitted == [], "two slots only")
        #expect(s.remove(4) == .queued)
        #expect(s.remove(4) == .unknown)
    }

    @Test func holdsJobsFromTheBarrier() {
        var s = Scheduler(maxBatchSize: 8, maxChunkTokens: 100, totalPages: 10)
        for id: JobID in 1...3 { s.enqueue(id: id, promptLength: 2, pages: 1) }
        var plan = s.plan(holdFrom: 2)
        #expect(plan.admitted == [1])
        plan = s.plan(holdFrom: 2)
        #expect(plan.admitted == [])
        plan = s.plan(holdFrom: nil)
        #expect(plan.admitted == [2, 3])
    }
}
