/// What a job generates from: a prompt, how to sample, when to stop.
public struct GenerationRequest: Sendable {
    /// The prompt: text (encoded with the tokenizer, special tokens added) or token ids used as they are.
    public enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens([Int32])
    }

    public var prompt: Prompt
    /// `nil` uses the engine's defaults (from the model's generation_config.json).
    public var sampling: SamplingParameters?
    public var stop: StopConditions
    /// Report the log-probability of each chosen token (log-softmax of the model's logits).
    public var logprobs: Bool

    public init(prompt: Prompt, sampling: SamplingParameters? = nil, stop: StopConditions = StopConditions(), logprobs: Bool = false) {
        self.prompt = prompt
        self.sampling = sampling
        self.stop = stop
        self.logprobs = logprobs
    }
}
