import ArgumentParser
import Foundation
import LoraEngine

/// `lorad-bench sample`: the sampler's cost per token on one logits row of a shape's vocabulary, per setting.
/// It runs on the engine thread once per job and token, so at batch 16 it adds 16× this to every step.
struct SampleBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Sampler cost per token (temperature, top-p, top-k, min-p) on a synthetic logits row.")

    @Option(help: "Model shape whose vocabulary size is used.")
    var shape: ModelShape = .smollm2135m

    @Option(help: "Standard deviation of the synthetic logits (larger: a peakier distribution).")
    var spread: Double = 2.5

    @Option(help: "Draws timed per setting.")
    var draws = 200

    func validate() throws {
        try requireAtLeast(1, draws, option: "--draws")
        guard spread > 0 else { throw ValidationError("--spread must be positive") }
    }

    mutating func run() throws {
        let vocab = shape.config.vocabSize
        print("lorad-bench sample --shape \(shape.rawValue) --spread \(spread) (vocabulary \(vocab))")
        // Normal logits (Box–Muller over a fixed LCG): a fixed, reproducible row.
        var state: UInt64 = 12_345
        func unit() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let row = (0..<vocab).map { _ in Float((-2 * log(max(unit(), 1e-12))).squareRoot() * cos(2 * .pi * unit()) * spread) }
        let settings: [(String, SamplingParameters)] = [
            ("greedy", SamplingParameters(temperature: 0)),
            ("temperature 0.8", SamplingParameters(temperature: 0.8, seed: 1)),
            ("temperature 0.8, top-p 0.9", SamplingParameters(temperature: 0.8, topP: 0.9, seed: 1)),
            ("temperature 0.8, min-p 0.05", SamplingParameters(temperature: 0.8, minP: 0.05, seed: 1)),
            ("temperature 0.8, top-k 40", SamplingParameters(temperature: 0.8, topK: 40, seed: 1)),
        ]
        for (name, parameters) in settings {
            var sampler = Sampler(parameters: parameters, prompt: [])
            var logits = row
            let start = Clock.now()
            for _ in 0..<draws {
                logits = row
                _ = logits.withUnsafeMutableBufferPointer { sampler.choose($0) }
            }
            print(name.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: "%8.3f ms per token", Clock.seconds(since: start) * 1e3 / Double(draws)))
        }
    }
}
