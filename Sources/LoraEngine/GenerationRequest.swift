import LoraModel

/// What a job generates from: a prompt, how to sample, when to stop, and optionally its own adapters.
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
    /// The job's own adapters with their user scales (DESIGN.md §7). nil: the job runs under the global set,
    /// under the setLoras barrier (§4). Non-nil (`[]` is the base model): the job does not depend on the global
    /// set — a pending setLoras neither holds it nor waits for it — and computes on the base weights plus its
    /// own unmerged delta, whatever the global set's mode; its summary reports these adapters and no global
    /// epoch (`JobSummary.globalEpoch` nil). The set is built at submission, or shared from the engine's cache
    /// when another job named the same adapters (`AdapterSet.Entry.contentKey`, else the adapter's weights) at
    /// the same scales.
    public var loras: [AdapterSet.Entry]?

    public init(
        prompt: Prompt, sampling: SamplingParameters? = nil, stop: StopConditions = StopConditions(), logprobs: Bool = false,
        loras: [AdapterSet.Entry]? = nil
    ) {
        self.prompt = prompt
        self.sampling = sampling
        self.stop = stop
        self.logprobs = logprobs
        self.loras = loras
    }
}
