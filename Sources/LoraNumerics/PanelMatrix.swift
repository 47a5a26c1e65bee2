/// A weight matrix (out × in) stored in panels of `PanelMatrix.width` output rows: panel `p` holds rows
/// `p·width ..< (p+1)·width` column by column, so `width` outputs' weights for one input index are contiguous.
///
/// This is the layout of an outer-product micro-kernel: one contiguous load of a panel's column is multiplied by
/// a broadcast input value into `width` accumulators, with no horizontal sums and each weight read once per
/// tile of input rows. The last panel is padded with zero rows. The values are f32, or a checkpoint's bf16 /
/// f16 values kept as they are (`element`), which the kernel widens exactly.
public struct PanelMatrix: Sendable {
    /// Output rows per panel (three SIMD8 vectors).
    public static let width = 24

    /// Output features (rows of the Hugging Face weight).
    public let rows: Int
    /// Input features.
    public let cols: Int
    /// The format of the stored values.
    public let element: PanelElement
    /// The memory: `panelCount · cols · width` values of `element`, packed (two 16-bit values per float slot,
    /// little-endian); read it through `bytes`, or `panel(_:)` for f32.
    @usableFromInline let storage: FloatBuffer

    /// Number of panels, the last possibly partial.
    public var panelCount: Int { (rows + Self.width - 1) / Self.width }

    /// Stored values, the padding of the last panel included.
    public var elementCount: Int { panelCount * cols * Self.width }

    /// A zero matrix, in its own memory or carved from `arena`.
    public init(rows: Int, cols: Int, element: PanelElement = .float32, arena: WeightArena? = nil) {
        self.rows = rows
        self.cols = cols
        self.element = element
        let values = ((rows + Self.width - 1) / Self.width) * cols * Self.width
        let floats = (values * element.byteSize + 3) / 4
        storage = arena?.slice(count: floats) ?? FloatBuffer(count: floats)
    }

    /// Packs a row-major (rows × cols) matrix, rounding each value to `element` (nearest even) when that is a
    /// 16-bit format — how synthesized weights become a bf16 or f16 "checkpoint".
    public init(packing source: UnsafePointer<Float>, rows: Int, cols: Int, element: PanelElement = .float32) {
        self.init(rows: rows, cols: cols, element: element)
        guard element != .float32 else {
            store(rowMajor: source, ld: cols, firstRow: 0, count: rows)
            return
        }
        for o in 0..<rows {
            let start = position(o, 0)
            for k in 0..<cols {
                let bits = UInt16(truncatingIfNeeded: element.bits(rounding: source[o * cols + k]))
                bytes.storeBytes(of: bits.littleEndian, toByteOffset: 2 * (start + k * Self.width), as: UInt16.self)
            }
        }
    }

    /// An f32 copy of `other`, widened if it is 16-bit: the start of a merged adapter weight, which must hold
    /// `W + ΔW` without rounding it back to the checkpoint's format.
    public init(widening other: PanelMatrix) {
        rows = other.rows
        cols = other.cols
        element = .float32
        if other.element == .float32 {
            storage = FloatBuffer(copying: other.storage)
            return
        }
        let count = other.elementCount
        storage = FloatBuffer(uninitializedCount: count)
        let source = UncheckedSendableBox(UnsafeRawPointer(other.storage.pointer)), destination = UncheckedSendableBox(storage.pointer)
        // Split over the cores like `FloatBuffer(copying:)`: the page faults of fresh memory dominate.
        let block = 1 << 18, format = other.element
        ParallelFor.ranges(count: (count + block - 1) / block, grain: 4) { blocks in
            let start = blocks.lowerBound * block, end = min(count, blocks.upperBound * block)
            format.widen(source.value + format.byteSize * start, to: destination.value + start, count: end - start)
        }
    }

    /// Packs a row-major matrix.
    public init(packing matrix: Matrix) {
        self.init(packing: matrix.pointer, rows: matrix.rows, cols: matrix.cols)
    }

    /// Pointer to panel `p`'s first column of an f32 matrix.
    @inlinable public func panel(_ p: Int) -> UnsafeMutablePointer<Float> {
        precondition(element == .float32, "panel(_:) needs an f32 matrix")
        return storage.pointer + p * cols * Self.width
    }

    /// The first byte of the stored values.
    public var bytes: UnsafeMutableRawPointer { UnsafeMutableRawPointer(storage.pointer) }

    /// Position of element (row o, column k) among the stored values.
    @inline(__always)
    private func position(_ o: Int, _ k: Int) -> Int { (o / Self.width) * cols * Self.width + k * Self.width + o % Self.width }

    /// Stored value `i` (a `position`), widened to f32.
    @inline(__always)
    private func value(at i: Int) -> Float {
        switch element {
        case .float32: return storage.pointer[i]
        case .bfloat16, .float16:
            return element.widen(bits: UInt32(UInt16(littleEndian: UnsafeRawPointer(bytes).loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
        }
    }

    /// Copies row `o` (one output feature, `cols` floats) into `destination` — a tied embedding's lookup.
    public func copyRow(_ o: Int, to destination: UnsafeMutablePointer<Float>) {
        let start = position(o, 0)
        for k in 0..<cols { destination[k] = value(at: start + k * Self.width) }
    }

    /// Writes rows `firstRow ..< firstRow + count` of an f32 matrix from a row-major block with row stride `ld`.
    public func store(rowMajor source: UnsafePointer<Float>, ld: Int, firstRow: Int, count: Int) {
        precondition(element == .float32, "store(rowMajor:) needs an f32 matrix")
        precondition(firstRow >= 0 && count >= 0 && firstRow + count <= rows, "PanelMatrix rows out of range")
        for r in 0..<count {
            let base = storage.pointer + position(firstRow + r, 0)
            let row = source + r * ld
            for k in 0..<cols { base[k * Self.width] = row[k] }
        }
    }

    /// Writes rows `firstRow ..< firstRow + count` of a 16-bit matrix from row-major little-endian values of
    /// the matrix's format (a checkpoint tensor as stored; no alignment needed) with row stride `ld` values.
    public func store(rowMajorBits source: UnsafeRawPointer, ld: Int, firstRow: Int, count: Int) {
        precondition(element.byteSize == 2, "store(rowMajorBits:) needs a 16-bit matrix")
        precondition(firstRow >= 0 && count >= 0 && firstRow + count <= rows, "PanelMatrix rows out of range")
        let destination = bytes
        for r in 0..<count {
            let start = 2 * position(firstRow + r, 0)
            let row = source + 2 * r * ld
            for k in 0..<cols {
                // Little-endian in, little-endian out: the bytes are copied as they are.
                destination.storeBytes(of: row.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self), toByteOffset: start + 2 * k * Self.width, as: UInt16.self)
            }
        }
    }

    /// A row-major f32 copy (tests and tools).
    public func unpacked() -> Matrix {
        let m = Matrix(rows: rows, cols: cols)
        for o in 0..<rows { copyRow(o, to: m.row(o)) }
        return m
    }

    /// Element access, widened to f32 (tests and setup code).
    public subscript(row: Int, col: Int) -> Float { value(at: position(row, col)) }

    /// Bytes held (including the padding of the last panel).
    public var byteCount: Int { storage.byteCount }

    /// Bytes an f32 copy of this matrix holds (a merged adapter weight).
    public var float32ByteCount: Int { elementCount * MemoryLayout<Float>.stride }
}
