/// The setLoras transaction as a state machine (DESIGN.md §4). Calls join in arrival order, each the moment it
/// arrives, before its set is built: from then on it holds every job submitted after it (ids `>= holdFrom`),
/// and it waits for the jobs submitted before it that were still live. The call at the head commits once its
/// set is built and those jobs have finished; calls are served one at a time.
///
/// The deadline counts from arrival (build, waiting behind earlier calls, drain). At it, an `abort` call
/// fails wherever it is in the line: nothing changes, the jobs it held are held only by the calls before it.
/// A `cancel` call acts at its deadline once it is at the head with its set built (it never cancels the jobs
/// an earlier call is draining, nor commits before it): the owner runs the commit hook, then cancels the
/// remaining earlier jobs, then swaps the set in. No threads and no clocks: the owner passes the time in and
/// performs the actions returned.
struct DrainBarrier: Sendable {
    /// One setLoras call, as it arrives.
    struct Request: Sendable, Equatable {
        var id: UInt64
        /// Jobs with ids from here on were submitted after the call.
        var holdFrom: JobID
        var arrivedAt: UInt64
        /// nil waits for ever.
        var timeoutNanos: UInt64?
        /// `arrivedAt` + the timeout (saturated); nil waits for ever.
        var deadline: UInt64?
        var onTimeout: OnTimeout

        /// A request arriving at `now` with `timeoutNanos`, its deadline saturated so that a huge timeout
        /// never wraps into one in the past.
        init(id: UInt64, holdFrom: JobID, arrivedAt now: UInt64, timeoutNanos: UInt64?, onTimeout: OnTimeout) {
            self.id = id
            self.holdFrom = holdFrom
            arrivedAt = now
            self.timeoutNanos = timeoutNanos
            deadline = timeoutNanos.map { timeout in
                let (sum, overflow) = now.addingReportingOverflow(timeout)
                return overflow ? .max : sum
            }
            self.onTimeout = onTimeout
        }
    }

    /// What the owner must do.
    enum Action: Sendable, Equatable {
        /// The head's set is built and its earlier jobs are done: run the commit hook, swap the set in.
        case commit(request: UInt64, drained: Int, waitedNanos: UInt64)
        /// A `cancel` head at its deadline: run the commit hook first; if it fails nothing changes (cancel
        /// nothing); else cancel `jobs` (its remaining earlier jobs), then swap the set in.
        case cancelAndCommit(request: UInt64, jobs: [JobID], drained: Int, waitedNanos: UInt64)
        /// An `abort` call at its deadline: report DrainTimeout; nothing changes.
        case fail(request: UInt64, stillRunning: Int, waitedNanos: UInt64)
    }

    /// A call in line.
    private struct Entry: Sendable {
        var request: Request
        var built = false
        /// Jobs submitted before the call and live when it arrived, not finished yet.
        var mustFinish: Set<JobID>
        var drained = 0
    }

    private var line: [Entry] = []
    /// Jobs submitted and not finished.
    private(set) var live: Set<JobID> = []

    /// Calls in line (building, waiting, draining).
    var count: Int { line.count }

    /// Jobs with ids from here on must wait (queued, not started) while a call is in line.
    var holdFrom: JobID? { line.first?.request.holdFrom }

    /// When the owner must poll again at the latest, if a call can time out.
    var deadline: UInt64? {
        line.indices.compactMap { i -> UInt64? in
            let e = line[i]
            return e.request.onTimeout == .abort || (i == 0 && e.built) ? e.request.deadline : nil
        }.min()
    }

    mutating func jobSubmitted(_ id: JobID) { live.insert(id) }

    /// A job ended (finished or cancelled).
    mutating func jobFinished(_ id: JobID) {
        live.remove(id)
        for i in line.indices where line[i].mustFinish.remove(id) != nil { line[i].drained += 1 }
    }

    /// A setLoras call arrived (its set not built yet): it joins the line behind the earlier ones.
    mutating func arrived(_ request: Request) {
        line.append(Entry(request: request, mustFinish: live.filter { $0 < request.holdFrom }))
    }

    /// The call's set is built.
    mutating func built(_ id: UInt64) {
        if let i = line.firstIndex(where: { $0.request.id == id }) { line[i].built = true }
    }

    /// Takes a call out of the line (its build failed); false when it is not in line (it timed out).
    @discardableResult
    mutating func remove(_ id: UInt64) -> Bool {
        guard let i = line.firstIndex(where: { $0.request.id == id }) else { return false }
        line.remove(at: i)
        return true
    }

    /// The next action at time `now`, or nil when there is nothing to do yet. Call until it returns nil.
    mutating func poll(now: UInt64) -> Action? {
        guard let head = line.first else { return nil }
        if head.built && head.mustFinish.isEmpty {
            line.removeFirst()
            return .commit(request: head.request.id, drained: head.drained, waitedNanos: now &- head.request.arrivedAt)
        }
        for i in line.indices {
            let e = line[i]
            guard let deadline = e.request.deadline, now >= deadline else { continue }
            let waited = now &- e.request.arrivedAt
            switch e.request.onTimeout {
            case .abort:
                line.remove(at: i)
                return .fail(request: e.request.id, stillRunning: e.mustFinish.count, waitedNanos: waited)
            case .cancel where i == 0 && e.built:
                line.removeFirst()
                return .cancelAndCommit(request: e.request.id, jobs: e.mustFinish.sorted(), drained: e.drained, waitedNanos: waited)
            case .cancel:
                continue
            }
        }
        return nil
    }

    /// Empties the line (engine shutdown); returns the calls' ids.
    mutating func removeAll() -> [UInt64] {
        defer { line.removeAll() }
        return line.map(\.request.id)
    }
}
