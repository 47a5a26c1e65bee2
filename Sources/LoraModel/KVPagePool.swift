import LoraNumerics

/// The key/value cache: a pool of fixed-size pages, each holding `pageSize` positions of every layer's keys and
/// values. A sequence owns a list of pages (its block table); the caller (the scheduler) allocates and frees
/// them, so jobs of any length share one fixed budget and nothing is silently truncated.
///
/// Page layout, glossary L layers, Hkv kv heads, P page size, Dh head dim: `page (L, 2, Hkv, P·Dh)`. For a
/// layer and kv head, the page's keys are stored transposed, (Dh, P): dimension d of the page's position i at
/// d·P + i, so decode attention scores eight positions with one vector and no horizontal sums. The values
/// follow the keys of every head as rows, (P, Dh). Elements are f32 or f16 (`precision`).
/// One owner (the engine thread) uses it; within a forward pass `store` runs on several cores at once, each
/// for different (page, slot) positions, which touch different elements.
public final class KVPagePool {
    /// Positions per page.
    public let pageSize: Int
    /// Number of pages.
    public let pageCount: Int
    /// How keys and values are stored.
    public let precision: KVCachePrecision
    let layerCount: Int
    let kvHeadCount: Int
    let headDim: Int
    /// Elements per page.
    let pageStride: Int
    private let storage: FloatBuffer
    private var freePages: [Int32]

    /// A pool of `pageCount` pages of `pageSize` positions for a model with `config`. Throws
    /// `KVPagePoolError` for a size the pool cannot hold: a page size or count below 1, more pages than 32-bit
    /// page ids can name (`maxPageCount`), or storage past 2^63 bytes. Callers size the pool from user input,
    /// so they also check `byteCount(...)` against the machine's memory first.
    public convenience init(config: LlamaConfig, pageSize: Int, pageCount: Int, precision: KVCachePrecision = .f32) throws {
        guard pageSize > 0 else { throw KVPagePoolError.invalidPageSize(pageSize) }
        guard pageCount > 0, pageCount <= Self.maxPageCount else { throw KVPagePoolError.invalidPageCount(pageCount) }
        guard Self.byteCount(config: config, pageSize: pageSize, pageCount: pageCount, precision: precision) != nil else {
            throw KVPagePoolError.tooLarge(pageSize: pageSize, pageCount: pageCount)
        }
        self.init(checkedConfig: config, pageSize: pageSize, pageCount: pageCount, precision: precision)
    }

    /// A pool holding at least `tokens` positions, for benchmarks and tests whose sizes are their own: it
    /// stops the process on a size the throwing initializer would refuse (sizes from users go through that one).
    public convenience init(config: LlamaConfig, pageSize: Int = 16, tokens: Int, precision: KVCachePrecision = .f32) {
        let pageCount = max(1, Self.pagesNeeded(positions: tokens, pageSize: pageSize))
        precondition(pageSize > 0 && pageCount <= Self.maxPageCount
                     && Self.byteCount(config: config, pageSize: pageSize, pageCount: pageCount, precision: precision) != nil,
                     "KV pool of \(tokens) positions in pages of \(pageSize) is out of range")
        self.init(checkedConfig: config, pageSize: pageSize, pageCount: pageCount, precision: precision)
    }

    private init(checkedConfig config: LlamaConfig, pageSize: Int, pageCount: Int, precision: KVCachePrecision) {
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.precision = precision
        layerCount = config.layerCount
        kvHeadCount = config.kvHeadCount
        headDim = config.headDim
        pageStride = config.layerCount * 2 * config.kvHeadCount * pageSize * config.headDim
        storage = FloatBuffer(count: (pageStride * pageCount * precision.elementBytes + 3) / 4)
        // `maxPageCount` keeps every page id within Int32.
        freePages = (0..<Int32(truncatingIfNeeded: pageCount)).reversed()
    }

    /// The most pages a pool may have: page ids are 32-bit (`SequenceChunk.pages`).
    public static let maxPageCount = Int(Int32.max)

    /// Pages needed to hold `positions` positions: `positions / pageSize` rounded up, without the
    /// `+ pageSize - 1` that overflows near Int.max; 0 when either is below 1. The one page-rounding rule of
    /// the project (the engine's reservations, its pool size, `GreedyDecoder`, `forward`'s check).
    public static func pagesNeeded(positions: Int, pageSize: Int) -> Int {
        guard positions > 0, pageSize > 0 else { return 0 }
        return positions / pageSize + (positions % pageSize > 0 ? 1 : 0)
    }

    /// Bytes of storage a pool of `pageCount` pages of `pageSize` positions takes for `config`, or nil when
    /// the product overflows: callers size the pool from user input, so they check this against memory first.
    public static func byteCount(config: LlamaConfig, pageSize: Int, pageCount: Int, precision: KVCachePrecision = .f32) -> Int? {
        var bytes = pageCount
        for factor in [pageSize, config.layerCount, 2, config.kvDim, precision.elementBytes] {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            bytes = product
        }
        return bytes
    }

    /// Pages not owned by any sequence.
    public var freePageCount: Int { freePages.count }

    /// Pages needed to hold `positions` positions.
    public func pagesNeeded(forPositions positions: Int) -> Int { Self.pagesNeeded(positions: positions, pageSize: pageSize) }

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

    /// Element offset of the keys of (`page`, `layer`, `kvHead`): Dh rows of P elements, transposed.
    @inline(__always)
    private func keyOffset(page: Int32, layer: Int, kvHead: Int) -> Int {
        Int(page) * pageStride + ((layer * 2) * kvHeadCount + kvHead) * pageSize * headDim
    }

    /// Element offset of the values of (`page`, `layer`, `kvHead`): P rows of Dh elements.
    @inline(__always)
    private func valueOffset(page: Int32, layer: Int, kvHead: Int) -> Int {
        keyOffset(page: page, layer: layer, kvHead: kvHead) + kvHeadCount * pageSize * headDim
    }

    /// Keys of (`page`, `layer`, `kvHead`) as stored (f32 or f16 elements): Dh rows of P.
    @inline(__always)
    func keys(page: Int32, layer: Int, kvHead: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(storage.pointer) + keyOffset(page: page, layer: layer, kvHead: kvHead) * precision.elementBytes
    }

    /// Values of (`page`, `layer`, `kvHead`) as stored: P rows of Dh.
    @inline(__always)
    func values(page: Int32, layer: Int, kvHead: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(storage.pointer) + valueOffset(page: page, layer: layer, kvHead: kvHead) * precision.elementBytes
    }

    /// Writes one position's key and value (Dh floats each) at `slot` of `page`.
    func store(key: UnsafePointer<Float>, value: UnsafePointer<Float>, page: Int32, slot: Int, layer: Int, kvHead: Int) {
        let k = keyOffset(page: page, layer: layer, kvHead: kvHead) + slot
        let v = valueOffset(page: page, layer: layer, kvHead: kvHead) + slot * headDim
        switch precision {
        case .f32:
            let base = storage.pointer
            for d in 0..<headDim { base[k + d * pageSize] = key[d] }
            (base + v).update(from: value, count: headDim)
        case .f16:
            // Saturating, so a large activation does not become an infinite score.
            let base = UnsafeMutableRawPointer(storage.pointer).assumingMemoryBound(to: UInt16.self)
            HalfPrecision.storeFloat16Saturating(key, count: headDim, to: base + k, stride: pageSize)
            HalfPrecision.storeFloat16Saturating(value, count: headDim, to: base + v, stride: 1)
        }
    }

    /// Copies `count` positions from `column` of a page's keys, as f32, into Dh rows of `destination`
    /// `rowStride` floats apart (the transposed layout kept).
    func copyKeys(page: Int32, layer: Int, kvHead: Int, column: Int, count: Int, into destination: UnsafeMutablePointer<Float>, rowStride: Int) {
        let k = keyOffset(page: page, layer: layer, kvHead: kvHead) + column
        for d in 0..<headDim {
            copyElements(from: k + d * pageSize, count: count, into: destination + d * rowStride)
        }
    }

    /// Copies the value rows of `count` positions from `row` of a page, as f32, into `destination` (count × Dh).
    func copyValues(page: Int32, layer: Int, kvHead: Int, row: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        copyElements(from: valueOffset(page: page, layer: layer, kvHead: kvHead) + row * headDim, count: count * headDim, into: destination)
    }

    private func copyElements(from offset: Int, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch precision {
        case .f32: destination.update(from: storage.pointer + offset, count: count)
        // Stored in the host's order, little-endian on every host lorad builds for.
        case .f16: HalfPrecision.convertFloat16(UnsafeRawPointer(storage.pointer) + 2 * offset, to: destination, count: count)
        }
    }
}
