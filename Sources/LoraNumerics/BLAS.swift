import CBLAS

/// Thin wrappers over the OpenBLAS calls lorad uses, named after the C functions they call.
public enum BLAS {
    /// lorad runs OpenBLAS single-threaded and splits products over its own `WorkerPool`: OpenBLAS's threads
    /// busy-wait after each call and would fight the pool's workers for the cores when prefill chunks and
    /// decode steps alternate.
    public static let singleThreaded: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// `cblas_sgemm` in row-major order: `C (m×n) = alpha · op(A) · op(B) + beta · C`, on the calling thread.
    @inlinable
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0 else { return }
        _ = singleThreaded
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `sgemm` with the n columns of C split into bands, one per core (`op(A)` is not transposed).
    public static func sgemmParallel(
        transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let ab = UncheckedSendableBox(a), bb = UncheckedSendableBox(b), cb = UncheckedSendableBox(c)
        // A band must be wide enough that the call's own overhead stays small.
        ParallelFor.ranges(count: n, grain: max(64, 2_000_000 / max(m * k, 1))) { band in
            // op(B) columns lo..<hi: rows of B when transposed, columns of B otherwise.
            let bBand = transB ? bb.value + band.lowerBound * ldb : bb.value + band.lowerBound
            sgemm(transA: false, transB: transB, m: m, n: band.count, k: k, alpha: alpha,
                  a: ab.value, lda: lda, b: bBand, ldb: ldb, beta: beta, c: cb.value + band.lowerBound, ldc: ldc)
        }
    }

    /// `openblas_set_num_threads` (benchmarks measure OpenBLAS's own multi-threaded peak with it).
    public static func setThreadCount(_ n: Int) {
        _ = singleThreaded
        openblas_set_num_threads(Int32(n))
    }

    /// `openblas_get_config`: the build and core type OpenBLAS runs with.
    public static var configuration: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }
}
