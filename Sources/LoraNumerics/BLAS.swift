import CBLAS

/// Thin wrappers over the OpenBLAS calls lorad uses, named after the C functions they call.
public enum BLAS {
    /// `cblas_sgemm` in row-major order: `C (m×n) = alpha · op(A) · op(B) + beta · C`.
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `cblas_sgemv` in row-major order: `y = alpha · op(A) · x + beta · y`, A is (m×n).
    @inlinable
    public static func sgemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    /// `openblas_set_num_threads`.
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// `openblas_get_num_threads`.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// `openblas_get_config`: the build and core type OpenBLAS runs with.
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
