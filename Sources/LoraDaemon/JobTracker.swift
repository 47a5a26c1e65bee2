import Foundation
import LoraEngine
import Synchronization

/// The jobs the daemon has submitted and not yet seen finish: who owns each (for `cancel` and `listJobs`), which
/// connection asked for it (a disconnect cancels its jobs), and how far it got. Updated from the jobs' sinks on
/// the engine thread, so every method takes the lock only briefly.
final class JobTracker: Sendable {
    /// Where a job is.
    enum State: String, Sendable {
        case queued
        case running
    }

    /// One live job.
    struct Entry: Sendable {
        var id: JobID
        var ownerUID: UInt32
        var connection: UInt64
        var stream: Bool
        var state: State = .queued
        var promptTokens: Int
        var completionTokens = 0
        var submittedAt: Date
        var epoch: UInt64?
        /// The job's own adapters (`generate {loras}`); nil for a job on the global set.
        var ownAdapters: [AdapterDescription]?
    }

    private let entries = Mutex<[JobID: Entry]>([:])

    func add(_ entry: Entry) { entries.withLock { $0[entry.id] = entry } }

    func started(_ id: JobID, epoch: UInt64) {
        entries.withLock { jobs in
            jobs[id]?.state = .running
            // A job with its own adapters does not run under the global set: its epoch would mean nothing.
            if jobs[id]?.ownAdapters == nil { jobs[id]?.epoch = epoch }
        }
    }

    func generated(_ id: JobID, count: Int) { entries.withLock { $0[id]?.completionTokens += count } }

    func finished(_ id: JobID) { _ = entries.withLock { $0.removeValue(forKey: id) } }

    func entry(_ id: JobID) -> Entry? { entries.withLock { $0[id] } }

    /// Every live job, oldest first.
    func list() -> [Entry] { entries.withLock { Array($0.values) }.sorted { $0.id < $1.id } }

    /// The live jobs a connection submitted.
    func jobs(ofConnection connection: UInt64) -> [JobID] {
        entries.withLock { $0.values.filter { $0.connection == connection }.map(\.id) }
    }

    var count: Int { entries.withLock { $0.count } }
}
