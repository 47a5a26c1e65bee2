/// The setLoras transaction as a state machine (DESIGN.md §4). Requests are served one at a time in arrival
/// order. The request at the head holds every job submitted after it (ids `>= holdFrom`) and waits for the
/// live jobs submitted before it to finish; then it commits. At its deadline it either fails (`abort`: nothing
/// changes, the held jobs proceed under the old set) or cancels the remaining earlier jobs and commits
/// (`cancel`). No threads and no clocks: the owner passes the time in and performs the actions returned.
struct DrainBarrier: Sendable {
    /// One setLoras call waiting its turn.
    struct Request: Sendable, Equatable {
        var id: UInt64
        /// Jobs with ids from here on were submitted after the call.
        var holdFrom: JobID
        /// nil waits for ever.
        var timeoutNanos: UInt64?
        var onTimeout: OnTimeout
    }

    /// What the owner must do.
    enum Action: Sendable, Equatable {
        /// Cancel these earlier jobs (timeout with `cancel`); a `commit` follows on the next poll.
        case cancel(request: UInt64, jobs: [JobID])
        /// Every earlier job is done: swap the new set in now.
        case commit(request: UInt64, drained: Int, cancelled: Int, waitedNanos: UInt64)
        /// Timeout with `abort`: report DrainTimeout; nothing changes.
        case fail(request: UInt64, stillRunning: Int, waitedNanos: UInt64)
    }

    /// The head request's drain, once installed.
    private struct Drain: Sendable {
        var startedAt: UInt64
        var deadline: UInt64?
        var mustFinish: Set<JobID>
        var drained = 0
        var cancelled = 0
    }

    private(set) var requests: [Request] = []
    private var drain: Drain?
    /// Jobs submitted and not finished.
    private(set) var live: Set<JobID> = []

    /// Jobs with ids from here on must wait (queued, not started) while a request is pending.
    var holdFrom: JobID? { requests.first?.holdFrom }

    /// When the owner must poll again at the latest, if a drain has a deadline.
    var deadline: UInt64? { drain?.deadline }

    mutating func jobSubmitted(_ id: JobID) { live.insert(id) }

    /// A job ended (finished or cancelled).
    mutating func jobFinished(_ id: JobID) {
        live.remove(id)
        if drain?.mustFinish.remove(id) != nil { drain?.drained += 1 }
    }

    /// A setLoras call, behind any earlier ones.
    mutating func enqueue(_ request: Request) { requests.append(request) }

    /// The next action at time `now`, or nil when there is nothing to do yet. Call until it returns nil.
    mutating func poll(now: UInt64) -> Action? {
        guard let head = requests.first else { return nil }
        if drain == nil {
            drain = Drain(
                startedAt: now, deadline: head.timeoutNanos.map { timeout in
                    // Saturate: a huge timeout must not wrap into a deadline in the past.
                    let (sum, overflow) = now.addingReportingOverflow(timeout)
                    return overflow ? .max : sum
                },
                mustFinish: live.filter { $0 < head.holdFrom })
        }
        guard var d = drain else { return nil }
        let waited = now &- d.startedAt
        if d.mustFinish.isEmpty {
            finishHead()
            return .commit(request: head.id, drained: d.drained, cancelled: d.cancelled, waitedNanos: waited)
        }
        guard let deadline = d.deadline, now >= deadline else { return nil }
        switch head.onTimeout {
        case .abort:
            finishHead()
            return .fail(request: head.id, stillRunning: d.mustFinish.count, waitedNanos: waited)
        case .cancel:
            let jobs = d.mustFinish.sorted()
            d.cancelled += jobs.count
            d.mustFinish.removeAll()
            drain = d
            return .cancel(request: head.id, jobs: jobs)
        }
    }

    /// Removes a request that has not reached the head yet or is the head (engine shutdown).
    mutating func removeAll() -> [UInt64] {
        defer { requests.removeAll(); drain = nil }
        return requests.map(\.id)
    }

    private mutating func finishHead() {
        requests.removeFirst()
        drain = nil
    }
}
