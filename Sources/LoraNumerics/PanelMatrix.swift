/// A weight matrix (out × in) stored in panels of `PanelMatrix.width` output rows: panel `p` holds rows
/// `p·width ..< (p+1)·width` column by column, so `width` outputs' weights for one input index are contiguous.
///
/// This is the layout of an outer-product micro-kernel: one contiguous load of a panel's column is multiplied by
/// a broadcast input value into `width` accumulators, with no horizontal sums and each weight read once per
/// tile of input rows. The last panel is padded with zero rows.
public struct PanelMatrix: Sendable {
    /// Output rows per panel (three SIMD8 vectors).
    public static let width = 24

    /// Output features (rows of the Hugging Face weight).
    public let rows: Int
    /// Input features.
    public let cols: Int
    /// `panelCount · cols · width` floats.
    public let storage: FloatBuffer

    /// Number of panels, the last possibly partial.
    public var panelCount: Int { (rows + Self.width - 1) / Self.width }

    /// A zero matrix.
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        storage = FloatBuffer(count: ((rows + Self.width - 1) / Self.width) * cols * Self.width)
    }

    /// Packs a row-major (rows × cols) matrix.
    public init(packing source: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.init(rows: rows, cols: cols)
        store(rowMajor: source, ld: cols, firstRow: 0, count: rows)
    }

    /// A private copy of `other` (the start of a merged adapter weight).
    public init(copying other: PanelMatrix) {
        rows = other.rows
        cols = other.cols
        storage = FloatBuffer(copying: other.storage)
    }

    /// Packs a row-major matrix.
    public init(packing matrix: Matrix) {
        self.init(packing: matrix.pointer, rows: matrix.rows, cols: matrix.cols)
    }

    /// Pointer to panel `p`'s first column.
    @inlinable public func panel(_ p: Int) -> UnsafeMutablePointer<Float> { storage.pointer + p * cols * Self.width }

    /// Copies row `o` (one output feature, `cols` floats) into `destination` — a tied embedding's lookup.
    public func copyRow(_ o: Int, to destination: UnsafeMutablePointer<Float>) {
        let w = Self.width
        let base = UnsafePointer(panel(o / w) + o % w)
        for k in 0..<cols { destination[k] = base[k * w] }
    }

    /// Writes rows `firstRow ..< firstRow + count` from a row-major block with row stride `ld`.
    public func store(rowMajor source: UnsafePointer<Float>, ld: Int, firstRow: Int, count: Int) {
        precondition(firstRow >= 0 && count >= 0 && firstRow + count <= rows, "PanelMatrix rows out of range")
        for r in 0..<count {
            let o = firstRow + r
            let base = panel(o / Self.width) + o % Self.width
            let row = source + r * ld
            for k in 0..<cols { base[k * Self.width] = row[k] }
        }
    }

    /// A row-major copy (tests and tools).
    public func unpacked() -> Matrix {
        let m = Matrix(rows: rows, cols: cols)
        for o in 0..<rows { copyRow(o, to: m.row(o)) }
        return m
    }

    /// Element access (tests and setup code).
    public subscript(row: Int, col: Int) -> Float {
        storage.pointer[(row / Self.width) * cols * Self.width + col * Self.width + row % Self.width]
    }

    /// Bytes held (including the padding of the last panel).
    public var byteCount: Int { storage.byteCount }
}
