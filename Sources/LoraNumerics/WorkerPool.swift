import Dispatch
import Foundation
import Synchronization

/// A fixed team of worker threads for the short parallel sections of a decode step (a matrix-vector product
/// takes 20–500 µs). Waking a thread through Dispatch costs tens of microseconds, which at ~120 products per
/// token is a large part of the step; these workers spin briefly on an atomic ticket after each section, so
/// the next one starts within a microsecond, then sleep on a semaphore when the engine goes idle.
///
/// Partitioning is static: part 0 runs on the caller, part i on worker i. A section's closure and part count
/// are written only while every worker is idle, and published by the ticket store, so workers never see a
/// half-written section.
public final class WorkerPool: @unchecked Sendable {
    /// The process-wide pool: one worker per core beyond the caller's.
    public static let shared = WorkerPool(workers: max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

    private final class Worker: @unchecked Sendable {
        let ticket = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }

    /// Number of workers besides the caller.
    public let workerCount: Int
    private let workers: [Worker]
    private var generation = 0
    private var section: ((Int) -> Void)?
    private var sectionParts = 0
    private let busy = Mutex<Bool>(false)
    /// Spin iterations before a worker sleeps (~100 µs).
    private let spinLimit = 20_000

    /// A pool with `workers` threads.
    public init(workers: Int) {
        workerCount = workers
        self.workers = (0..<workers).map { _ in Worker() }
        for (index, worker) in self.workers.enumerated() {
            let thread = Thread { [unowned self] in self.workerLoop(worker, index: index + 1) }
            thread.name = "lorad-worker-\(index + 1)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Total parts a section can be split into (workers + caller).
    public var parallelism: Int { workerCount + 1 }

    /// Runs `body(part)` for `part` in `0..<parts` (at most `parallelism`), part 0 on the calling thread, and
    /// returns when all are done. Re-entrant or concurrent calls run serially on the caller.
    public func run(parts: Int, _ body: (Int) -> Void) {
        let parts = min(parts, parallelism)
        // Only one section at a time; a nested or concurrent call simply runs inline.
        let acquired = busy.withLock { isBusy -> Bool in
            if isBusy { return false }
            isBusy = true
            return true
        }
        guard acquired, parts > 1 else {
            if acquired { busy.withLock { $0 = false } }
            for p in 0..<parts { body(p) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            section = escapable
            sectionParts = parts
            generation += 1
            let ticket = generation
            for w in workers.prefix(parts - 1) {
                w.ticket.store(ticket, ordering: .sequentiallyConsistent)
                if w.sleeping.exchange(false, ordering: .sequentiallyConsistent) { w.wake.signal() }
            }
            escapable(0)
            for w in workers.prefix(parts - 1) {
                while w.done.load(ordering: .acquiring) != ticket {}
            }
            section = nil
        }
        busy.withLock { $0 = false }
    }

    private func workerLoop(_ worker: Worker, index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var ticket = worker.ticket.load(ordering: .acquiring)
            while ticket == seen {
                spins += 1
                if spins >= spinLimit {
                    worker.sleeping.store(true, ordering: .sequentiallyConsistent)
                    if worker.ticket.load(ordering: .sequentiallyConsistent) == seen { worker.wake.wait() }
                    worker.sleeping.store(false, ordering: .sequentiallyConsistent)
                    spins = 0
                }
                ticket = worker.ticket.load(ordering: .acquiring)
            }
            seen = ticket
            if index < sectionParts, let body = section { body(index) }
            worker.done.store(ticket, ordering: .releasing)
        }
    }
}
