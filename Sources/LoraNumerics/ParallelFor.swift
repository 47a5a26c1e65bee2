import Dispatch
import Foundation
import Synchronization

/// Splits index ranges over the machine's cores for the memory-bound kernels BLAS does not serve well
/// (matrix-vector products for small decode batches).
public enum ParallelFor {
    /// Worker count: the active processor count, at least 1.
    public static let workerCount: Int = WorkerPool.shared.parallelism

    /// Calls `body(range)` on disjoint contiguous ranges covering `0..<count`, in parallel when the work is
    /// large enough to pay for the hand-off. `grain` is the smallest range worth a thread.
    @inlinable
    public static func ranges(count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        parts(count: count, grain: grain) { _, range in body(range) }
    }
}

extension ParallelFor {
    /// Like `ranges`, but also passes the part index (0 for the caller), for bodies that need per-part scratch.
    @inlinable
    public static func parts(count: Int, grain: Int, _ body: (_ part: Int, _ range: Range<Int>) -> Void) {
        let parts = min(workerCount, max(1, count / max(grain, 1)))
        if parts <= 1 {
            body(0, 0..<count)
            return
        }
        // The ranges are disjoint and the call returns only when all are done.
        WorkerPool.shared.run(parts: parts) { p in
            body(p, (count * p / parts)..<(count * (p + 1) / parts))
        }
    }
}

/// Carries a value across a concurrency boundary the compiler cannot verify (see `ParallelFor.ranges`).
public struct UncheckedSendableBox<Value>: @unchecked Sendable {
    /// The carried value.
    public let value: Value
    /// Wraps `value`.
    public init(_ value: Value) { self.value = value }
}

extension ParallelFor {
    /// Like `parts`, but the ranges are handed out while the section runs: each part calls `next()` until it
    /// returns nil, and a part that falls behind (a core slowed by the host, a worker woken late) simply takes
    /// fewer of them. Grabs shrink as the work runs out (guided scheduling: a fraction of what is left, at
    /// least `grain`), so there are few of them and the parts finish together.
    public static func shared(count: Int, grain: Int, _ body: (_ part: Int, _ next: () -> Range<Int>?) -> Void) {
        let grain = max(grain, 1)
        let parts = min(workerCount, max(1, count / grain))
        if parts <= 1 {
            var handedOut = false
            body(0) {
                if handedOut || count <= 0 { return nil }
                handedOut = true
                return 0..<count
            }
            return
        }
        let claimed = Atomic<Int>(0)
        WorkerPool.shared.run(parts: parts) { p in
            body(p) {
                var start = claimed.load(ordering: .relaxed)
                while start < count {
                    let size = min(count - start, max(grain, (count - start) / (2 * parts)))
                    let (exchanged, current) = claimed.compareExchange(
                        expected: start, desired: start + size, ordering: .relaxed)
                    if exchanged { return start..<(start + size) }
                    start = current
                }
                return nil
            }
        }
    }
}
