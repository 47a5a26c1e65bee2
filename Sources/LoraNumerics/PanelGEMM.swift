import CKernelSupport

/// The linear layers: `y (T×out) = x (T×in) · Wᵀ` over a `PanelMatrix`, for any number of rows T — one decode
/// token or a 512-token prefill chunk alike, every new token of a ragged batch in one call.
///
/// An outer-product micro-kernel in the manner of BLIS: for each input index k it loads one panel column (24
/// outputs, three SIMD8 vectors) and multiplies it by 4 broadcast input values into 12 accumulators: 7 loads
/// per 12 fused multiply-adds, no horizontal sums, and the panel is read from memory once per block of rows
/// (then from cache, while the first tiles prefetch the next chunk). Workers take disjoint bands of panels.
///
/// Every output element is one fused multiply-add chain over k in increasing order, whatever the tile it
/// falls in (4, 2 or 1 rows) and however many rows share the call, so a row's result does not depend on the
/// rest of the batch. A 16-bit matrix runs the same chains on its values widened in registers, so its result
/// equals, bit for bit, that of the f32 matrix holding the widened values.
public enum PanelGEMM {
    /// Input indices per pass over a panel: 24 × 768 floats (72 KiB) stay in L2 while every tile of the row
    /// block uses them.
    static let depthBlock = 768
    /// Rows of `x` per pass over the panels.
    static let rowBlock = 64

    /// `y = x·Wᵀ` (or `y += x·Wᵀ` when `accumulate`). `x` has row stride `ldx`, `y` row stride `ldy`.
    public static func multiply(
        _ weight: PanelMatrix, x: UnsafePointer<Float>, ldx: Int, rows: Int,
        y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool = false
    ) {
        // One product per layer call: no array, so the forward pass allocates nothing here.
        withUnsafePointer(to: Job(weight, x: x, ldx: ldx, y: y, ldy: ldy, panelStride: PanelMatrix.width, accumulate: accumulate)) {
            run(UnsafeBufferPointer(start: $0, count: 1), rows: rows)
        }
    }

    /// One product of a `multiply(each:)` call.
    public struct Product {
        let weight: PanelMatrix
        let x: UnsafePointer<Float>, ldx: Int
        let y: UnsafeMutablePointer<Float>, ldy: Int
        /// Rows of this product; nil: the rows of the call.
        let rows: Int?
        /// `y (+)= x·Wᵀ`, with the strides of `multiply`, over the call's rows.
        public init(_ weight: PanelMatrix, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int) {
            self.init(weight, x: x, ldx: ldx, rows: nil, y: y, ldy: ldy)
        }
        /// `y (+)= x·Wᵀ` over `rows` rows of its own (`multiply(each:accumulate:)`, or nil for the call's rows).
        public init(_ weight: PanelMatrix, x: UnsafePointer<Float>, ldx: Int, rows: Int?, y: UnsafeMutablePointer<Float>, ldy: Int) {
            self.weight = weight
            self.x = x
            self.ldx = ldx
            self.y = y
            self.ldy = ldy
            self.rows = rows
        }
    }

    /// Several independent products over the same number of rows in one parallel section (the per-projection
    /// B products of an unmerged LoRA delta: small, and each hand-off to the workers costs microseconds).
    public static func multiply(each products: [Product], rows: Int, accumulate: Bool) {
        let jobs = products.map {
            Job($0.weight, x: $0.x, ldx: $0.ldx, y: $0.y, ldy: $0.ldy, panelStride: PanelMatrix.width, accumulate: accumulate, rows: $0.rows ?? rows)
        }
        jobs.withUnsafeBufferPointer { run($0, rows: rows) }
    }

    /// Several independent products, each over its own rows (`Product(_:x:ldx:rows:y:ldy:)`), in one parallel
    /// section: the LoRA deltas of several adapter sets, each on the rows of the jobs that use it. Each row's
    /// result is what a call with that product alone would give.
    public static func multiply(each products: [Product], accumulate: Bool) {
        let rows = products.reduce(0) { max($0, $1.rows ?? 0) }
        multiply(each: products, rows: rows, accumulate: accumulate)
    }

    /// Adds the product `B · A` into `target`'s panels `firstPanel ..< firstPanel + b.panelCount`: a LoRA delta
    /// merged into a packed weight without a row-major detour. `b` (out × R) must fill whole panels (pad it
    /// with zero rows); `aTransposed` is `Aᵀ` (in × R, row stride R) with in = `target.cols`.
    public static func addProduct(
        into target: PanelMatrix, firstPanel: Int, b: PanelMatrix, aTransposed: UnsafePointer<Float>
    ) {
        precondition(b.rows % PanelMatrix.width == 0 && firstPanel + b.panelCount <= target.panelCount,
                     "addProduct needs whole panels inside the target")
        precondition(target.element == .float32, "addProduct needs an f32 target (widen a 16-bit weight first)")
        // Row k of Aᵀ times panel i of B is column k of target panel firstPanel + i: y is the target's storage
        // with 24-float rows and one panel's span between panels.
        let job = Job(b, x: aTransposed, ldx: b.cols, y: target.panel(firstPanel), ldy: PanelMatrix.width,
                      panelStride: target.cols * PanelMatrix.width, accumulate: true)
        withUnsafePointer(to: job) { run(UnsafeBufferPointer(start: $0, count: 1), rows: target.cols) }
    }

    /// Runs every job's panels for `rows` rows, the panels of all jobs (numbered one after another) split over
    /// the workers.
    private static func run(_ jobList: UnsafeBufferPointer<Job>, rows: Int) {
        let total = jobList.reduce(0) { $0 + $1.panelCount }
        guard rows > 0, total > 0 else { return }
        let shared = UncheckedSendableBox(jobList)
        ParallelFor.shared(count: total, grain: 1) { _, nextBand in
            let jobs = shared.value
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rowBlock * PanelMatrix.width) { temp in
                guard let tempBase = temp.baseAddress else { return }
                var band = nextBand()
                while let current = band {
                    // The band this part takes next, claimed while its last panel of this band computes, so
                    // that panel's prefetch asks for the weights this core reads next rather than for the
                    // neighbouring panel, which another core has usually claimed.
                    var upcoming: Range<Int>?
                    var first = 0
                    while first < rows {
                        let lastBlock = first + rowBlock >= rows
                        for g in current {
                            let following: Int?
                            if g + 1 < current.upperBound {
                                following = g + 1
                            } else if !lastBlock {
                                following = current.lowerBound
                            } else {
                                // The band's last panel of its last row block: reached once per band.
                                upcoming = nextBand()
                                following = upcoming?.lowerBound
                            }
                            let (j, panel) = locate(g, in: jobs)
                            // A product with fewer rows than the call is done once its rows are.
                            let jobRows = min(rows, jobs[j].rows)
                            guard first < jobRows else { continue }
                            let count = min(rowBlock, jobRows - first)
                            let next = following.map { f -> UnsafeRawPointer in
                                let (k, q) = locate(f, in: jobs)
                                return jobs[k].panelStart(q)
                            }
                            jobs[j].run(panel: panel, next: next, firstRow: first, rowCount: count, temp: tempBase)
                        }
                        first += rowBlock
                    }
                    band = upcoming
                }
            }
        }
    }

    /// The job holding panel `g` of the panels of all jobs numbered one after another, and its index there.
    @inline(__always)
    private static func locate(_ g: Int, in jobs: UnsafeBufferPointer<Job>) -> (job: Int, panel: Int) {
        var j = 0, start = 0
        while j + 1 < jobs.count, g >= start + jobs[j].panelCount {
            start += jobs[j].panelCount
            j += 1
        }
        return (j, g - start)
    }
}

/// One product's operands; `run` computes one panel for one block of rows.
private struct Job: @unchecked Sendable {
    let panels: UnsafeRawPointer
    let element: PanelElement
    let depth: Int
    let chunks: Int
    let outRows: Int
    let x: UnsafePointer<Float>
    let ldx: Int
    let y: UnsafeMutablePointer<Float>
    let ldy: Int
    /// Distance in y between the first columns of consecutive panels (`width` for a row-major y).
    let panelStride: Int
    let accumulate: Bool
    /// Rows of x this product covers (at most the call's rows).
    let rows: Int

    static let width = PanelMatrix.width
    /// Tiles of a chunk that prefetch the next chunk between them.
    static let prefetchingTiles = 4

    init(_ weight: PanelMatrix, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int, panelStride: Int, accumulate: Bool,
         rows: Int = .max) {
        self.rows = rows
        panels = UnsafeRawPointer(weight.bytes)
        element = weight.element
        depth = weight.cols
        chunks = max(1, (weight.cols + PanelGEMM.depthBlock - 1) / PanelGEMM.depthBlock)
        outRows = weight.rows
        self.x = x
        self.ldx = ldx
        self.y = y
        self.ldy = ldy
        self.panelStride = panelStride
        self.accumulate = accumulate
    }

    var panelCount: Int { (outRows + Self.width - 1) / Self.width }

    /// Where panel `p`'s weights start.
    func panelStart(_ p: Int) -> UnsafeRawPointer { panels + p * depth * Self.width * element.byteSize }

    /// Computes panel `p` for one block of rows; `next` is where the panel this core computes after it starts
    /// (nil: none), which the tiles prefetch while this one's last chunk computes.
    func run(panel p: Int, next: UnsafeRawPointer?, firstRow: Int, rowCount: Int, temp: UnsafeMutablePointer<Float>) {
        // One switch per panel and row block; the loops below are specialised per format.
        switch element {
        case .float32: run(Float32Column.self, panel: p, next: next, firstRow: firstRow, rowCount: rowCount, temp: temp)
        case .bfloat16: run(BFloat16Column.self, panel: p, next: next, firstRow: firstRow, rowCount: rowCount, temp: temp)
        case .float16: run(Float16Column.self, panel: p, next: next, firstRow: firstRow, rowCount: rowCount, temp: temp)
        }
    }

    @inline(__always)
    private func run<L: PanelColumnLoad>(
        _ load: L.Type, panel p: Int, next: UnsafeRawPointer?, firstRow: Int, rowCount: Int, temp: UnsafeMutablePointer<Float>
    ) {
        let w = Self.width
        let columnBytes = w * L.byteSize
        let valid = min(w, outRows - p * w)
        let firstCol = p * panelStride
        // A partial last panel, and `y +=`, compute into a zeroed full-width scratch tile first: the padding
        // columns have somewhere to go, and the sum over k is formed before it meets the value already in y
        // (adding thousands of small terms one by one onto a large residual would lose precision).
        let viaTemp = accumulate || valid < w
        var c = y + firstRow * ldy + firstCol, ldc = ldy
        if viaTemp {
            c = temp
            ldc = w
        }
        let panel = panelStart(p)
        for chunk in 0..<chunks {
            let k0 = depth * chunk / chunks, k1 = depth * (chunk + 1) / chunks
            let load = chunk > 0
            let wp = panel + k0 * columnBytes
            let chunkBytes = (k1 - k0) * columnBytes
            let fullTiles = rowCount / 4
            // The next chunk of this panel, or for the last chunk the next panel this core computes.
            let nextChunk = chunk + 1 < chunks ? wp + chunkBytes : next
            var t = 0
            if fullTiles >= 2, let nextChunk {
                // The first tile reads this chunk from memory and the others from cache, so on its own the
                // memory stream would stop while they compute (the hardware prefetcher follows misses only).
                // The first tiles each ask for a share of the next chunk instead: the weights are one stream
                // in the order this core uses them. At batch 16 this took the products from ~50% to ~75% of
                // peak; a prefill block needs no more than four. Each input index's panel column is
                // `columnBytes`: a tile prefetches 1/sharing of one per index. (The amount is this chunk's
                // size, so when the next panel belongs to a product of another depth or format it covers less
                // than all of it or runs past it: a prefetch is a hint that never faults.)
                let sharing = min(fullTiles, Self.prefetchingTiles)
                let stride = columnBytes / sharing
                var ahead = nextChunk
                while t < 4 * sharing {
                    Self.tile4(L.self, w: wp, x: x + (firstRow + t) * ldx + k0, ldx: ldx, depth: k1 - k0, c: c + t * ldc, ldc: ldc, load: load,
                               prefetch: true, ahead: ahead, aheadStride: stride, streamAhead: 0)
                    ahead += stride * (k1 - k0)
                    t += 4
                }
            }
            // Without the tiles' prefetch (fewer than 8 rows, or no next panel) the first tile reads the chunk
            // from memory, and streams it with a prefetch ahead of its loads where that measured faster.
            while t + 4 <= rowCount {
                Self.tile4(L.self, w: wp, x: x + (firstRow + t) * ldx + k0, ldx: ldx, depth: k1 - k0, c: c + t * ldc, ldc: ldc, load: load,
                           prefetch: false, ahead: wp, aheadStride: 0, streamAhead: t == 0 ? L.fourRowStreamPrefetchBytes : 0)
                t += 4
            }
            if t + 2 <= rowCount {
                Self.tile2(L.self, w: wp, x: x + (firstRow + t) * ldx + k0, ldx: ldx, depth: k1 - k0, c: c + t * ldc, ldc: ldc, load: load,
                           streamAhead: t == 0 ? L.streamPrefetchBytes : 0)
                t += 2
            }
            if t < rowCount {
                Self.tile1(L.self, w: wp, x: x + (firstRow + t) * ldx + k0, depth: k1 - k0, c: c + t * ldc, load: load,
                           streamAhead: t == 0 ? L.streamPrefetchBytes : 0)
            }
        }
        guard viaTemp else { return }
        for r in 0..<rowCount {
            let destination = y + (firstRow + r) * ldy + firstCol, source = temp + r * w
            if accumulate {
                for j in 0..<valid { destination[j] += source[j] }
            } else {
                destination.update(from: source, count: valid)
            }
        }
    }

    @inline(__always)
    static func vector(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ load: Bool) -> SIMD8<Float> {
        load ? UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i * 32, as: SIMD8<Float>.self) : SIMD8<Float>()
    }

    @inline(__always)
    static func put(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: i * 32, as: SIMD8<Float>.self)
    }

    /// 4 rows × 24 outputs: 12 accumulators, 3 panel vectors, 1 broadcast — the 16 AVX registers. With
    /// `prefetch`, each input index also asks for `aheadStride` bytes of the next chunk from `ahead`; otherwise a
    /// positive `streamAhead` prefetches this panel that many bytes ahead of the loads.
    @inline(__always)
    static func tile4<L: PanelColumnLoad>(
        _: L.Type, w: UnsafeRawPointer, x: UnsafePointer<Float>, ldx: Int, depth: Int, c: UnsafeMutablePointer<Float>, ldc: Int, load: Bool,
        prefetch: Bool, ahead: UnsafeRawPointer, aheadStride: Int, streamAhead: Int
    ) {
        let c1 = c + ldc, c2 = c + 2 * ldc, c3 = c + 3 * ldc
        var a00 = vector(c, 0, load), a01 = vector(c, 1, load), a02 = vector(c, 2, load)
        var a10 = vector(c1, 0, load), a11 = vector(c1, 1, load), a12 = vector(c1, 2, load)
        var a20 = vector(c2, 0, load), a21 = vector(c2, 1, load), a22 = vector(c2, 2, load)
        var a30 = vector(c3, 0, load), a31 = vector(c3, 1, load), a32 = vector(c3, 2, load)
        let x1 = x + ldx, x2 = x + 2 * ldx, x3 = x + 3 * ldx
        var column = w, next = ahead
        let step = Self.width * L.byteSize
        for k in 0..<depth {
            if prefetch {
                lorad_prefetch_read_ahead(next)
                next += aheadStride
            } else if streamAhead > 0 {
                lorad_prefetch_read(column + streamAhead)
            }
            let w0 = L.vector(column, 0), w1 = L.vector(column, 1), w2 = L.vector(column, 2)
            let b0 = SIMD8<Float>(repeating: x[k])
            a00 = a00.addingProduct(w0, b0); a01 = a01.addingProduct(w1, b0); a02 = a02.addingProduct(w2, b0)
            let b1 = SIMD8<Float>(repeating: x1[k])
            a10 = a10.addingProduct(w0, b1); a11 = a11.addingProduct(w1, b1); a12 = a12.addingProduct(w2, b1)
            let b2 = SIMD8<Float>(repeating: x2[k])
            a20 = a20.addingProduct(w0, b2); a21 = a21.addingProduct(w1, b2); a22 = a22.addingProduct(w2, b2)
            let b3 = SIMD8<Float>(repeating: x3[k])
            a30 = a30.addingProduct(w0, b3); a31 = a31.addingProduct(w1, b3); a32 = a32.addingProduct(w2, b3)
            column += step
        }
        put(a00, c, 0); put(a01, c, 1); put(a02, c, 2)
        put(a10, c1, 0); put(a11, c1, 1); put(a12, c1, 2)
        put(a20, c2, 0); put(a21, c2, 1); put(a22, c2, 2)
        put(a30, c3, 0); put(a31, c3, 1); put(a32, c3, 2)
    }

    /// 2 rows × 24 outputs (`streamAhead` as in `tile4`).
    @inline(__always)
    static func tile2<L: PanelColumnLoad>(
        _: L.Type, w: UnsafeRawPointer, x: UnsafePointer<Float>, ldx: Int, depth: Int, c: UnsafeMutablePointer<Float>, ldc: Int, load: Bool,
        streamAhead: Int
    ) {
        let c1 = c + ldc
        var a00 = vector(c, 0, load), a01 = vector(c, 1, load), a02 = vector(c, 2, load)
        var a10 = vector(c1, 0, load), a11 = vector(c1, 1, load), a12 = vector(c1, 2, load)
        let x1 = x + ldx
        var column = w
        let step = Self.width * L.byteSize
        for k in 0..<depth {
            if streamAhead > 0 { lorad_prefetch_read(column + streamAhead) }
            let w0 = L.vector(column, 0), w1 = L.vector(column, 1), w2 = L.vector(column, 2)
            let b0 = SIMD8<Float>(repeating: x[k])
            a00 = a00.addingProduct(w0, b0); a01 = a01.addingProduct(w1, b0); a02 = a02.addingProduct(w2, b0)
            let b1 = SIMD8<Float>(repeating: x1[k])
            a10 = a10.addingProduct(w0, b1); a11 = a11.addingProduct(w1, b1); a12 = a12.addingProduct(w2, b1)
            column += step
        }
        put(a00, c, 0); put(a01, c, 1); put(a02, c, 2)
        put(a10, c1, 0); put(a11, c1, 1); put(a12, c1, 2)
    }

    /// 1 row × 24 outputs (batch-1 decode: bound by reading the panel; `streamAhead` as in `tile4`).
    @inline(__always)
    static func tile1<L: PanelColumnLoad>(
        _: L.Type, w: UnsafeRawPointer, x: UnsafePointer<Float>, depth: Int, c: UnsafeMutablePointer<Float>, load: Bool, streamAhead: Int
    ) {
        var a0 = vector(c, 0, load), a1 = vector(c, 1, load), a2 = vector(c, 2, load)
        var column = w
        let step = Self.width * L.byteSize
        for k in 0..<depth {
            if streamAhead > 0 { lorad_prefetch_read(column + streamAhead) }
            let b = SIMD8<Float>(repeating: x[k])
            a0 = a0.addingProduct(L.vector(column, 0), b)
            a1 = a1.addingProduct(L.vector(column, 1), b)
            a2 = a2.addingProduct(L.vector(column, 2), b)
            column += step
        }
        put(a0, c, 0); put(a1, c, 1); put(a2, c, 2)
    }
}
