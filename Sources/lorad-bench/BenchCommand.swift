import ArgumentParser

/// `lorad-bench`: measures lorad's kernels and engine against this machine's own ceilings.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lorad-bench",
        abstract: "Benchmarks for lorad, reported as ratios to the machine's measured ceilings.",
        subcommands: [ForwardBenchmark.self, LoraBenchmark.self, TokenizeBenchmark.self, KernelBenchmark.self, GenerateBenchmark.self, SampleBenchmark.self]
    )
}
