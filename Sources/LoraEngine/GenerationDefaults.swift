import Foundation
import LoraModel

/// Default sampling from a model's `generation_config.json`, as transformers reads it: without `do_sample`
/// decoding is greedy; with it, `temperature` (default 1), `top_k` (default 50), `top_p` and `min_p` apply.
/// `repetition_penalty` applies either way.
public enum GenerationDefaults {
    /// The defaults `generation` (the model's generation_config.json, as read with its checkpoint) asks for;
    /// greedy when the model has none. Throws `EngineError.invalidConfiguration` when a value is out of range.
    public static func sampling(_ generation: GenerationConfig?) throws -> SamplingParameters {
        guard let g = generation else { return .greedy }
        return try sampling(doSample: g.doSample, temperature: g.temperature, topK: g.topK, topP: g.topP, minP: g.minP, repetitionPenalty: g.repetitionPenalty)
    }

    static func sampling(doSample: Bool?, temperature: Float?, topK: Int?, topP: Float?, minP: Float?, repetitionPenalty: Float?) throws -> SamplingParameters {
        var p = SamplingParameters.greedy
        if doSample == true {
            p.temperature = temperature ?? 1
            p.topK = topK ?? 50
            p.topP = topP ?? 1
            p.minP = minP ?? 0
        }
        p.repetitionPenalty = repetitionPenalty ?? 1
        do { try p.validate() } catch {
            throw EngineError.invalidConfiguration("generation_config.json: \(error)")
        }
        return p
    }
}
