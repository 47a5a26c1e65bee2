import LoraEngine
import LoraJSON

/// The `generate` parameters, turned into an engine request. Types and ranges were checked by the method
/// table's schema; what is left here are the rules between parameters.
struct GenerateParameters: Sendable {
    var request: GenerationRequest
    var stream: Bool
    /// The job's own adapters (`loras`), to be loaded and put into `request.loras`; nil: the global set.
    var ownAdapters: [(name: String, scale: Float)]?

    /// `defaults` is the model's sampling (generation_config.json); fields the request sets override it.
    init(_ params: JSONValue, defaults: SamplingParameters) throws {
        func number(_ key: String) -> JSONNumber? { params[key]?.numberValue }
        func invalid(_ message: String) -> InvalidParams { InvalidParams(message) }
        let prompt: GenerationRequest.Prompt
        switch (params["prompt"], params["tokens"]) {
        case (.some(.string(let text)), nil): prompt = .text(text)
        case (nil, .some(.array(let items))):
            prompt = .tokens(try Self.tokenIDs(items, parameter: "tokens"))
        case (nil, nil): throw invalid("give either prompt (text) or tokens (token ids)")
        default: throw invalid("give either prompt or tokens, not both")
        }
        var sampling: SamplingParameters?
        let samplingKeys = ["temperature", "topK", "topP", "minP", "repetitionPenalty", "presencePenalty", "frequencyPenalty", "seed"]
        if samplingKeys.contains(where: { params[$0] != nil }) {
            var s = defaults
            if let v = number("temperature")?.double { s.temperature = Float(v) }
            if let v = number("topK")?.int { s.topK = v }
            if let v = number("topP")?.double { s.topP = Float(v) }
            if let v = number("minP")?.double { s.minP = Float(v) }
            if let v = number("repetitionPenalty")?.double { s.repetitionPenalty = Float(v) }
            if let v = number("presencePenalty")?.double { s.presencePenalty = Float(v) }
            if let v = number("frequencyPenalty")?.double { s.frequencyPenalty = Float(v) }
            if let v = number("seed")?.uint64 { s.seed = v }
            sampling = s
        }
        var stop = StopConditions()
        stop.maxNewTokens = number("maxTokens")?.int
        switch params["stop"] {
        case .some(.string(let s)): stop.stopStrings = [s]
        case .some(.array(let items)): stop.stopStrings = items.compactMap(\.stringValue)
        default: break
        }
        if case .some(.array(let items)) = params["stopTokens"] {
            stop.stopTokenIds = try Self.tokenIDs(items, parameter: "stopTokens")
        }
        stop.ignoreEos = params["ignoreEos"]?.boolValue ?? false
        request = GenerationRequest(prompt: prompt, sampling: sampling, stop: stop, logprobs: params["logprobs"]?.boolValue ?? false)
        stream = params["stream"]?.boolValue ?? false
        if let loras = params["loras"], !loras.isNull {
            ownAdapters = try Daemon.parseEntries(loras, parameter: "loras")
        }
    }
}

extension GenerateParameters {
    /// Token ids (the schema has already checked their range; this is the conversion).
    static func tokenIDs(_ items: [JSONValue], parameter: String) throws -> [Int32] {
        try items.map { item in
            guard let id = item.numberValue?.int64, let id32 = Int32(exactly: id) else {
                throw InvalidParams("\(parameter) must be an array of token ids, got \(item.kindDescription)")
            }
            return id32
        }
    }
}

/// A -32602 error found by a handler (the schema catches types and ranges; this is for rules across fields).
struct InvalidParams: Error, Sendable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
