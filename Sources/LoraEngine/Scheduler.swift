/// Decides what each step computes: which queued jobs to admit (in arrival order, while batch slots and KV
/// pages allow) and which tokens of each running job go into the forward pass (one decode token per job past
/// its prompt, then prompt chunks within `maxChunkTokens`). A value type with no threads or clocks: the engine
/// owns one, feeds it submissions and removals, and performs the plans it returns.
///
/// Pages are reserved for a job's whole length (prompt + new tokens) at admission, so a running job never
/// needs more and nothing is ever preempted.
struct Scheduler: Sendable {
    /// A job waiting for admission.
    struct Waiting: Sendable, Equatable {
        var id: JobID
        var promptLength: Int
        var pages: Int
        /// A job with its own adapters: a setLoras barrier does not hold it.
        var exempt = false
    }

    /// An admitted job.
    struct Running: Sendable, Equatable {
        var id: JobID
        var promptLength: Int
        var pages: Int
        /// Positions already fed to the model (in its KV pages).
        var fed: Int
    }

    /// One job's part of a step.
    struct Chunk: Sendable, Equatable {
        var id: JobID
        /// First position fed: below `promptLength` a prompt chunk, else the last generated token.
        var start: Int
        var count: Int
        /// Whether the step samples a token for the job (a decode, or the end of its prompt).
        var samples: Bool
    }

    /// What one step does.
    struct StepPlan: Sendable, Equatable {
        /// Jobs admitted this step (allocate their pages, report them started).
        var admitted: [JobID] = []
        /// The ragged batch, decodes first, then prompt chunks.
        var chunks: [Chunk] = []
    }

    let maxBatchSize: Int
    let maxChunkTokens: Int
    let totalPages: Int
    private(set) var freePages: Int
    private(set) var waiting: [Waiting] = []
    private(set) var running: [Running] = []

    init(maxBatchSize: Int, maxChunkTokens: Int, totalPages: Int) {
        self.maxBatchSize = maxBatchSize
        self.maxChunkTokens = maxChunkTokens
        self.totalPages = totalPages
        freePages = totalPages
    }

    /// Adds a job at the back of the queue. The caller has checked that `pages <= totalPages`.
    /// `exempt`: the job names its own adapters, so a setLoras barrier does not hold it.
    mutating func enqueue(id: JobID, promptLength: Int, pages: Int, exempt: Bool = false) {
        waiting.append(Waiting(id: id, promptLength: promptLength, pages: pages, exempt: exempt))
    }

    /// Where a removed job was.
    enum Removal: Equatable {
        case queued
        /// Running; its `pages` pages are free again.
        case running(pages: Int)
        case unknown
    }

    /// Removes a job (finished or cancelled), freeing its pages.
    mutating func remove(_ id: JobID) -> Removal {
        if let i = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: i)
            return .queued
        }
        if let i = running.firstIndex(where: { $0.id == id }) {
            let pages = running[i].pages
            running.remove(at: i)
            freePages += pages
            return .running(pages: pages)
        }
        return .unknown
    }

    /// Plans the next step and records it as done (positions fed). Jobs with ids `>= holdFrom` stay queued
    /// (a setLoras barrier holds them) unless they are exempt (their own adapters), and the exempt jobs behind
    /// them are admitted past them; otherwise admission is strictly in arrival order, so the first job that
    /// does not fit makes the later ones wait too.
    mutating func plan(holdFrom: JobID? = nil) -> StepPlan {
        var plan = StepPlan()
        var budget = maxChunkTokens
        // Decodes: one token for each running job past its prompt.
        for i in running.indices where running[i].fed >= running[i].promptLength {
            plan.chunks.append(Chunk(id: running[i].id, start: running[i].fed, count: 1, samples: true))
            running[i].fed += 1
        }
        // Admission.
        var i = 0
        while i < waiting.count, running.count < maxBatchSize {
            let next = waiting[i]
            if let holdFrom, next.id >= holdFrom, !next.exempt {
                i += 1
                continue
            }
            guard next.pages <= freePages, budget > running.prefillRemaining else { break }
            waiting.remove(at: i)
            freePages -= next.pages
            running.append(Running(id: next.id, promptLength: next.promptLength, pages: next.pages, fed: 0))
            plan.admitted.append(next.id)
        }
        // Prompt chunks, in admission order, within the budget.
        for i in running.indices where running[i].fed < running[i].promptLength && budget > 0 {
            let count = min(budget, running[i].promptLength - running[i].fed)
            plan.chunks.append(Chunk(id: running[i].id, start: running[i].fed, count: count, samples: running[i].fed + count == running[i].promptLength))
            running[i].fed += count
            budget -= count
        }
        return plan
    }
}

extension Array where Element == Scheduler.Running {
    /// Prompt tokens admitted jobs still have to feed.
    var prefillRemaining: Int { reduce(0) { $0 + Swift.max(0, $1.promptLength - $1.fed) } }
}
