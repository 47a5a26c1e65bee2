import ArgumentParser
import LoraModel

/// Model shapes the benchmarks synthesize with random weights.
enum ModelShape: String, ExpressibleByArgument, CaseIterable {
    case smollm2135m = "smollm2-135m"
    case llama1b = "llama-1b"
    case tiny

    var config: LlamaConfig {
        switch self {
        case .smollm2135m:
            // HuggingFaceTB/SmolLM2-135M
            return LlamaConfig(
                hiddenSize: 576, intermediateSize: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3, headDim: 64,
                vocabSize: 49152, maxPositions: 8192, tieWordEmbeddings: true, ropeTheta: 100_000)
        case .llama1b:
            // meta-llama/Llama-3.2-1B
            return LlamaConfig(
                hiddenSize: 2048, intermediateSize: 8192, layerCount: 16, headCount: 32, kvHeadCount: 8, headDim: 64,
                vocabSize: 128_256, maxPositions: 131_072, tieWordEmbeddings: true, ropeTheta: 500_000,
                ropeScaling: .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        case .tiny:
            return LlamaConfig(
                hiddenSize: 64, intermediateSize: 176, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 16,
                vocabSize: 512, maxPositions: 1024, tieWordEmbeddings: false)
        }
    }

    /// Weights of the seven projections of one layer (multiply-adds per token).
    static func linearWeightsPerLayer(_ c: LlamaConfig) -> Int {
        LlamaModule.allCases.reduce(0) { $0 + $1.shape(c).out * $1.shape(c).in }
    }

    /// Parameters counted once (a tied embedding counts once).
    static func parameterCount(_ c: LlamaConfig) -> Int {
        let layer = linearWeightsPerLayer(c) + 2 * c.hiddenSize
        return c.layerCount * layer + c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2) + c.hiddenSize
    }
}
