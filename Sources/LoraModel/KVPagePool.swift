import LoraNumerics

/// The key/value cache: a pool of fixed-size pages, each holding `pageSize` positions of every layer's keys and
/// values. A sequence owns a list of pages (its block table); the caller (the scheduler) allocates and frees
/// them, so jobs of any length share one fixed budget and nothing is silently truncated.
///
/// Page layout, glossary L layers, Hkv kv heads, P page size, Dh head dim: `page (L, 2, Hkv, P·Dh)`. For a
/// layer and kv head, the page's keys are stored transposed, (Dh, P): dimension d of the page's position i at
/// d·P + i, so decode attention scores eight positions with one vector and no horizontal sums. The values
/// follow the keys of every head as rows, (P, Dh).
/// Not thread-safe: one owner (the engine thread) uses it.
public final class KVPagePool {
    /// Positions per page.
    public let pageSize: Int
    /// Number of pages.
    public let pageCount: Int
    let layerCount: Int
    let kvHeadCount: Int
    let headDim: Int
    /// Floats per page.
    let pageStride: Int
    let storage: FloatBuffer
    private var freePages: [Int32]

    /// A pool of `pageCount` pages of `pageSize` positions for a model with `config`.
    public init(config: LlamaConfig, pageSize: Int, pageCount: Int) {
        precondition(pageSize > 0 && pageCount > 0, "KV pool needs positive page size and count")
        self.pageSize = pageSize
        self.pageCount = pageCount
        layerCount = config.layerCount
        kvHeadCount = config.kvHeadCount
        headDim = config.headDim
        pageStride = config.layerCount * 2 * config.kvHeadCount * pageSize * config.headDim
        storage = FloatBuffer(count: pageStride * pageCount)
        freePages = (0..<Int32(pageCount)).reversed()
    }

    /// A pool holding at least `tokens` positions.
    public convenience init(config: LlamaConfig, pageSize: Int = 16, tokens: Int) {
        self.init(config: config, pageSize: pageSize, pageCount: max(1, (tokens + pageSize - 1) / pageSize))
    }

    /// Bytes of storage a pool of `pageCount` pages of `pageSize` positions takes for `config`, or nil when
    /// the product overflows: callers size the pool from user input, so they check this against memory first.
    public static func byteCount(config: LlamaConfig, pageSize: Int, pageCount: Int) -> Int? {
        var bytes = pageCount
        for factor in [pageSize, config.layerCount, 2, config.kvDim, MemoryLayout<Float>.size] {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            bytes = product
        }
        return bytes
    }

    /// Pages not owned by any sequence.
    public var freePageCount: Int { freePages.count }

    /// Pages needed to hold `positions` positions.
    public func pagesNeeded(forPositions positions: Int) -> Int { (positions + pageSize - 1) / pageSize }

    /// Takes `count` pages, or returns nil (and takes none) when fewer are free.
    public func allocate(_ count: Int) -> [Int32]? {
        guard count <= freePages.count else { return nil }
        let taken = Array(freePages.suffix(count))
        freePages.removeLast(count)
        return taken
    }

    /// Returns pages to the pool.
    public func release(_ pages: [Int32]) {
        freePages.append(contentsOf: pages)
    }

    /// Bytes of cache storage.
    public var byteCount: Int { storage.byteCount }

    /// Keys of (`page`, `layer`, `kvHead`), transposed: Dh rows of P floats.
    @inline(__always)
    func keys(page: Int32, layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        storage.pointer + Int(page) * pageStride + ((layer * 2) * kvHeadCount + kvHead) * pageSize * headDim
    }

    /// Values of (`page`, `layer`, `kvHead`): P rows of Dh floats.
    @inline(__always)
    func values(page: Int32, layer: Int, kvHead: Int) -> UnsafeMutablePointer<Float> {
        keys(page: page, layer: layer, kvHead: kvHead) + kvHeadCount * pageSize * headDim
    }

    /// Writes one position's key and value (Dh floats each) at `slot` of `page`.
    @inline(__always)
    func store(key: UnsafePointer<Float>, value: UnsafePointer<Float>, page: Int32, slot: Int, layer: Int, kvHead: Int) {
        let k = keys(page: page, layer: layer, kvHead: kvHead) + slot
        for d in 0..<headDim { k[d * pageSize] = key[d] }
        (values(page: page, layer: layer, kvHead: kvHead) + slot * headDim).update(from: value, count: headDim)
    }
}
