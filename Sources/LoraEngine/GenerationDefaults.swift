import Foundation

/// Default sampling from a model's `generation_config.json`, as transformers reads it: without `do_sample`
/// decoding is greedy; with it, `temperature` (default 1), `top_k` (default 50), `top_p` and `min_p` apply.
/// `repetition_penalty` applies either way.
public enum GenerationDefaults {
    private struct File: Decodable {
        var doSample: Bool?
        var temperature: Float?
        var topK: Int?
        var topP: Float?
        var minP: Float?
        var repetitionPenalty: Float?
        enum CodingKeys: String, CodingKey {
            case doSample = "do_sample", temperature, topK = "top_k", topP = "top_p", minP = "min_p", repetitionPenalty = "repetition_penalty"
        }
    }

    /// The defaults for the model in `directory`; greedy when it has no generation_config.json.
    /// Throws `EngineError.invalidConfiguration` when the file is unreadable or its values are out of range.
    public static func sampling(modelDirectory directory: URL) throws -> SamplingParameters {
        let url = directory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return .greedy }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        } catch {
            throw EngineError.invalidConfiguration("\(url.path): \(error)")
        }
        return try sampling(doSample: file.doSample, temperature: file.temperature, topK: file.topK, topP: file.topP, minP: file.minP, repetitionPenalty: file.repetitionPenalty)
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
