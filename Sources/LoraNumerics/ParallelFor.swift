import Dispatch
import Foundation

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
