#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size, 64-byte aligned block of `Float`s with reference semantics.
///
/// Weights and scratch space live in these rather than in `[Float]` so kernels can hand raw pointers to BLAS
/// without copy-on-write checks or exclusivity traps in hot loops. A buffer that is never written after it is
/// built (model weights) may be shared between threads; that is why it is `@unchecked Sendable`.
public final class FloatBuffer: @unchecked Sendable {
    /// Number of floats.
    public let count: Int
    /// The storage; valid for the lifetime of the buffer.
    public let pointer: UnsafeMutablePointer<Float>
    private let owner: AnyObject?

    /// Buffers at least this large are aligned to 2 MiB and offered to the kernel as transparent huge pages:
    /// decode streams every weight once per token, and 4 KiB pages cost a TLB miss every 4 KiB.
    static let hugePageThreshold = 4 << 20
    static let hugePageSize = 2 << 20

    /// Allocates `count` floats, zero-filled.
    public convenience init(count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    /// Allocates `count` floats whose values are undefined until the caller writes them: for outputs a kernel
    /// overwrites entirely, where zero-filling first is a wasted pass over memory.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let alignment = bytes >= Self.hugePageThreshold ? Self.hugePageSize : 64
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
        #if os(Linux)
        if alignment == Self.hugePageSize {
            // Advisory only: without THP (or with it disabled) this fails harmlessly.
            _ = madvise(raw, (bytes / Self.hugePageSize) * Self.hugePageSize, MADV_HUGEPAGE)
        }
        #endif
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        owner = nil
    }

    /// Copies `values` into a new buffer.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    /// A private copy of `other` (for example to move mapped file data into huge-page memory, or to start a
    /// merged adapter weight). Large copies are split over the cores: the page faults of fresh memory (the
    /// kernel zeroes every page) cost more than the copy itself.
    public convenience init(copying other: FloatBuffer) {
        self.init(uninitializedCount: other.count)
        if other.count == 0 { pointer.initialize(to: 0); return }
        let source = UncheckedSendableBox(UnsafePointer(other.pointer)), destination = UncheckedSendableBox(pointer)
        let block = Self.hugePageSize / MemoryLayout<Float>.stride
        ParallelFor.ranges(count: (other.count + block - 1) / block, grain: 4) { blocks in
            let start = blocks.lowerBound * block, end = min(other.count, blocks.upperBound * block)
            (destination.value + start).initialize(from: source.value + start, count: end - start)
        }
    }

    /// Whether the floats live in memory owned by another object (a mapped file).
    public var isBorrowed: Bool { owner != nil }

    /// Wraps memory owned by `owner` (for example a mapped file) without copying. The caller guarantees the
    /// memory holds `count` aligned floats and stays valid while `owner` lives.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.count = count
        self.pointer = pointer
        self.owner = owner
    }

    deinit {
        if owner == nil { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    /// The floats as an array (for tests and small results).
    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// Bytes held.
    public var byteCount: Int { count * MemoryLayout<Float>.stride }
}
