/// How a job chooses each next token. Penalties are applied to the logits first (repetition over the prompt
/// and the generated tokens, as transformers does; presence and frequency over the generated tokens, as the
/// OpenAI API does), then temperature, top-k, top-p and min-p, in that order.
public struct SamplingParameters: Sendable, Equatable, Codable {
    /// 0 picks the arg-max (greedy, lowest id on a tie); above 0 divides the logits before sampling.
    public var temperature: Float
    /// Keep only the k most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probabilities sum to at least p; 1 keeps all.
    public var topP: Float
    /// Drop tokens less likely than `minP` times the most likely one; 0 keeps all.
    public var minP: Float
    /// Divides positive logits (multiplies negative ones) of tokens already in the prompt or output; 1 is off.
    /// In [0.01, 100].
    public var repetitionPenalty: Float
    /// Subtracted once from the logit of every token already generated; 0 is off. In [-2, 2].
    public var presencePenalty: Float
    /// Subtracted from a token's logit once per time it was generated; 0 is off. In [-2, 2].
    public var frequencyPenalty: Float
    /// Seed of the job's random stream: the same seed, prompt and adapter set give the same tokens.
    /// `nil` picks a random seed.
    public var seed: UInt64?

    /// Greedy decoding with no penalties.
    public static let greedy = SamplingParameters()

    public init(
        temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, repetitionPenalty: Float = 1,
        presencePenalty: Float = 0, frequencyPenalty: Float = 0, seed: UInt64? = nil
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.seed = seed
    }

    /// The values `repetitionPenalty` may take.
    public static let repetitionPenaltyRange: ClosedRange<Float> = 0.01...100
    /// The values `presencePenalty` and `frequencyPenalty` may take (the OpenAI API's range).
    public static let penaltyRange: ClosedRange<Float> = -2...2

    /// Whether the choice is the arg-max of the (penalized) logits.
    public var isGreedy: Bool { temperature == 0 || topK == 1 }

    /// Throws `EngineError.invalidRequest` naming the first value out of range.
    public func validate() throws {
        func fail(_ m: String) -> EngineError { .invalidRequest(m) }
        guard temperature.isFinite, temperature >= 0 else { throw fail("temperature must be 0 or more, got \(temperature)") }
        guard topK >= 0 else { throw fail("topK must be 0 (off) or more, got \(topK)") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw fail("topP must be in (0, 1], got \(topP)") }
        guard minP.isFinite, minP >= 0, minP <= 1 else { throw fail("minP must be in [0, 1], got \(minP)") }
        // Bounded so a penalized logit stays finite: 1e-45 turned a positive logit into +inf, and -3e38 for
        // both presence and frequency overflowed their sum.
        guard Self.repetitionPenaltyRange.contains(repetitionPenalty) else { throw fail("repetitionPenalty must be in [0.01, 100], got \(repetitionPenalty)") }
        guard Self.penaltyRange.contains(presencePenalty) else { throw fail("presencePenalty must be in [-2, 2], got \(presencePenalty)") }
        guard Self.penaltyRange.contains(frequencyPenalty) else { throw fail("frequencyPenalty must be in [-2, 2], got \(frequencyPenalty)") }
    }
}
