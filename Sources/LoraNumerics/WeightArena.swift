/// Carves many weight matrices out of a few large, huge-page-aligned blocks.
///
/// Decode streams every weight once per token. A layer's matrices are mostly under the 4 MiB at which a
/// `FloatBuffer` asks for transparent huge pages, so on their own they sit in 4 KiB pages: a TLB miss every
/// 4 KiB, and a fresh start for the hardware prefetcher at each page. Packed into 64 MiB blocks they get huge
/// pages (when the kernel grants them) and stream like one large matrix.
public final class WeightArena: @unchecked Sendable {
    /// Floats per block (64 MiB); a larger request gets a block of its own size.
    static let blockFloats = 16 << 20
    /// Slices start on 64-byte boundaries (the kernels' vector loads).
    public static let alignmentFloats = 16

    private var block: FloatBuffer?
    private var used = 0
    /// Floats not yet expected to be requested: a small model's arena stays small.
    private var expectedFloats: Int
    /// Bytes allocated in blocks, slack at the blocks' ends included.
    public private(set) var reservedBytes = 0

    /// An empty arena for about `expectedFloats` floats in all (an upper bound is fine); blocks are allocated
    /// as slices are requested.
    public init(expectedFloats: Int) { self.expectedFloats = max(expectedFloats, 0) }

    /// A zero-filled slice of `count` floats that keeps its block alive. Not thread-safe: one loader uses it.
    public func slice(count: Int) -> FloatBuffer {
        let rounded = (count + Self.alignmentFloats - 1) / Self.alignmentFloats * Self.alignmentFloats
        if block == nil || used + rounded > (block?.count ?? 0) {
            // The tail of the previous block stays unused: at most one matrix's worth.
            let fresh = FloatBuffer(count: max(min(Self.blockFloats, expectedFloats), rounded))
            expectedFloats = max(0, expectedFloats - fresh.count)
            reservedBytes += fresh.byteCount
            block = fresh
            used = 0
        }
        guard let current = block else { return FloatBuffer(count: count) }
        let slice = FloatBuffer(borrowing: current.pointer + used, count: count, owner: current)
        used += rounded
        return slice
    }
}
