/// A row-major matrix of `Float`s (rows × cols) backed by a `FloatBuffer`.
///
/// Row-major, as Hugging Face stores tensors (adapter matrices, embeddings, scratch); linear weights are packed
/// into `PanelMatrix` for the kernel.
public struct Matrix: Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns (the row stride).
    public let cols: Int
    /// The storage, `rows * cols` floats.
    public let storage: FloatBuffer

    /// A zero matrix.
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        storage = FloatBuffer(count: rows * cols)
    }

    /// A matrix whose elements are undefined until written (see `FloatBuffer(uninitializedCount:)`).
    public init(uninitializedRows rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        storage = FloatBuffer(uninitializedCount: rows * cols)
    }

    /// Wraps existing storage, which must hold exactly `rows * cols` floats.
    public init(rows: Int, cols: Int, storage: FloatBuffer) {
        precondition(storage.count == rows * cols, "Matrix storage does not match its shape")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Pointer to the first element.
    @inlinable public var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// Pointer to the first element of `row`.
    @inlinable public func row(_ row: Int) -> UnsafeMutablePointer<Float> { storage.pointer + row * cols }

    /// Element access (tests and setup code; kernels use pointers).
    public subscript(row: Int, col: Int) -> Float {
        get { storage.pointer[row * cols + col] }
        nonmutating set { storage.pointer[row * cols + col] = newValue }
    }

    /// Bytes held.
    public var byteCount: Int { storage.byteCount }
}
