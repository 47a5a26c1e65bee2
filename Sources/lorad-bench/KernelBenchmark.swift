import ArgumentParser
import Foundation
import LoraModel
import LoraNumerics

/// `lorad-bench kernels`: lorad's `PanelGEMM` and OpenBLAS sgemm (row-major weights, split over the same worker
/// pool) on one model shape's matrices, per batch size, as GB/s of weights streamed and GFLOP/s, so the kernel
/// can be tuned against the machine's ceilings.
struct KernelBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Linear-layer kernels (lorad's panel kernel and OpenBLAS sgemm) on a model shape's matrices.")

    @Option(help: "Model shape whose matrices are used.")
    var shape: ModelShape = .smollm2135m

    @Option(help: WeightFormat.help)
    var weights: WeightFormat = .f32

    @Option(help: "Comma-separated row counts (tokens per call).")
    var rows = IntegerList([1, 2, 4, 8, 16])

    func validate() throws { try rows.require(atLeast: 1, option: "--rows") }

    /// `matrix` in panels of the chosen format (16-bit values rounded to nearest even).
    func packed(_ matrix: Matrix) -> PanelMatrix {
        PanelMatrix(packing: matrix.pointer, rows: matrix.rows, cols: matrix.cols, element: weights.element)
    }

    mutating func run() throws {
        let c = shape.config
        let shapes: [(String, Int, Int)] = [
            ("qkv", c.qkvWidth, c.hiddenSize), ("o", c.hiddenSize, c.queryDim),
            ("gate_up", 2 * c.intermediateSize, c.hiddenSize), ("down", c.hiddenSize, c.intermediateSize),
            ("lm_head", c.vocabSize, c.hiddenSize),
        ]
        print("lorad-bench kernels --shape \(shape.rawValue) --weights \(weights.rawValue)")
        let ceilings = MachineCeilings.measureAndReport()
        for (name, out, inDim) in shapes {
            // Enough copies of the matrix that the working set is far beyond the caches.
            let copies = max(1, 256_000_000 / (out * inDim * weights.element.byteSize))
            let matrices = (0..<copies).map { _ in Matrix(rows: out, cols: inDim, storage: FloatBuffer(count: out * inDim)) }
            for w in matrices { for i in stride(from: 0, to: out * inDim, by: 97) { w.pointer[i] = 0.01 } }
            let panels = matrices.map { packed($0) }
            for t in rows.values {
                let x = FloatBuffer(count: t * inDim), y = FloatBuffer(count: t * out)
                for (label, body) in [
                    ("panel", { (i: Int) in PanelGEMM.multiply(panels[i], x: x.pointer, ldx: inDim, rows: t, y: y.pointer, ldy: out, accumulate: false) }),
                    ("sgemm", { (i: Int) in BLAS.sgemmParallel(transB: true, m: t, n: out, k: inDim, alpha: 1, a: x.pointer, lda: inDim, b: matrices[i].pointer, ldb: inDim, beta: 0, c: y.pointer, ldc: out) }),
                ] {
                    var best = Double.infinity
                    for _ in 0..<3 {
                        let start = Clock.now()
                        for i in matrices.indices { body(i) }
                        best = min(best, Clock.seconds(since: start) / Double(copies))
                    }
                    let bytesPerWeight = label == "panel" ? weights.element.byteSize : 4
                    let gbps = Double(out * inDim * bytesPerWeight) / best / 1e9
                    let gflops = 2 * Double(t * out * inDim) / best / 1e9
                    print(String(format: "%-8@ %6d×%-5d T=%-3d %-9@ %8.1f µs  %5.1f GB/s (%3.0f%% bw)  %6.1f GFLOP/s (%3.0f%% peak)",
                                 name, out, inDim, t, label, best * 1e6, gbps, 100 * gbps / ceilings.readBandwidthGBps, gflops, 100 * gflops / ceilings.sgemmGFLOPS))
                }
            }
        }
    }
}
