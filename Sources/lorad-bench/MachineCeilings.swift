import Dispatch
import Foundation
import LoraNumerics

/// The machine's own limits, measured in the same run as the figures compared against them.
struct MachineCeilings {
    /// OpenBLAS sgemm throughput on a large square product, GFLOP/s.
    var sgemmGFLOPS: Double
    /// Streaming read bandwidth with all cores, GB/s (10⁹ bytes).
    var readBandwidthGBps: Double

    /// The machine line every benchmark prints first.
    static var machineDescription: String {
        "machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(BLAS.configuration) (run single-threaded), lorad worker pool of \(WorkerPool.shared.parallelism) threads"
    }

    /// Measures the ceilings and prints them as every benchmark reports them.
    @discardableResult
    static func measureAndReport() -> MachineCeilings {
        let c = measure()
        print(String(format: "ceilings: sgemm %.1f GFLOP/s (2048² square, OpenBLAS on all cores), read bandwidth %.1f GB/s (all cores)", c.sgemmGFLOPS, c.readBandwidthGBps))
        return c
    }

    static func measure(squareSize: Int = 2048, bandwidthBytes: Int = 1 << 30) -> MachineCeilings {
        MachineCeilings(sgemmGFLOPS: sgemmPeak(n: squareSize), readBandwidthGBps: readBandwidth(bytes: bandwidthBytes))
    }

    /// Best of several runs of C = A·B with n×n matrices.
    static func sgemmPeak(n: Int) -> Double {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a.pointer[i] = Float(i % 7) * 0.1; b.pointer[i] = Float(i % 5) * 0.1 }
        // OpenBLAS's own threading on all cores measures the peak; lorad itself runs it single-threaded.
        BLAS.setThreadCount(ProcessInfo.processInfo.activeProcessorCount)
        defer { BLAS.setThreadCount(1) }
        var best = Double.infinity
        for _ in 0..<4 {
            let t = Clock.now()
            BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.pointer, lda: n, b: b.pointer, ldb: n, beta: 0, c: c.pointer, ldc: n)
            best = min(best, Clock.seconds(since: t))
        }
        return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
    }

    /// Best of several multi-threaded passes summing a buffer much larger than the caches.
    static func readBandwidth(bytes: Int) -> Double {
        let probe = ProbeBuffer(bytes: bytes)
        return (0..<6).map { _ in probe.readOnce() }.max() ?? 0
    }
}

extension MachineCeilings {
    /// A buffer read whole, once per call, on every core: the bandwidth probe (best of several calls for the
    /// ceiling, one call before each paired decode step).
    final class ProbeBuffer {
        private let buffer: FloatBuffer
        private var sink: Float = 0

        init(bytes: Int) {
            buffer = FloatBuffer(count: bytes / 4)
            for i in stride(from: 0, to: buffer.count, by: 1024) { buffer.pointer[i] = 1 }
        }

        /// One pass over the buffer on the worker pool (the threads the forward pass uses), in GB/s.
        func readOnce() -> Double {
            let base = UncheckedSendableBox(buffer.pointer)
            let count = buffer.count
            let parts = ParallelFor.workerCount
            let sums = UncheckedSendableBox(UnsafeMutablePointer<Float>.allocate(capacity: parts))
            defer { sums.value.deallocate() }
            let t = Clock.now()
            ParallelFor.parts(count: count, grain: count / parts) { part, range in
                sums.value[part] = VectorOps.sum(base.value + range.lowerBound, range.count)
            }
            let seconds = Clock.seconds(since: t)
            for p in 0..<parts { sink += sums.value[p] }
            if sink == -1 { print("") }  // keeps the sums observable
            return Double(count * 4) / seconds / 1e9
        }
    }
}

/// Monotonic wall-clock timing.
enum Clock {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
