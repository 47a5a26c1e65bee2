import ArgumentParser
import CKernelSupport

/// `lorad-bench`: measures lorad's kernels and engine against this machine's own ceilings.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lorad-bench",
        abstract: "Benchmarks for lorad, reported as ratios to the machine's measured ceilings.",
        subcommands: [ForwardBenchmark.self, LoraBenchmark.self, TokenizeBenchmark.self, KernelBenchmark.self, GenerateBenchmark.self, SampleBenchmark.self, RPCBenchmark.self]
    )

    /// Checks the CPU before anything built for AVX2 runs: without the check an older CPU dies of SIGILL.
    static func main() {
        #if LORAD_VECTOR_ISA
        lorad_require_vector_kernels("lorad-bench")
        #endif
        main(nil)
    }
}
