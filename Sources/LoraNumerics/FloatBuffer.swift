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

    /// Allocates `count` floats, zero-filled.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        owner = nil
    }

    /// Copies `values` into a new buffer.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

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

    /// A read-only view of the floats.
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// Bytes held.
    public var byteCount: Int { count * MemoryLayout<Float>.stride }
}
