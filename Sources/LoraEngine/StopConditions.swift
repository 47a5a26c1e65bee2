/// When a job stops generating. The context length always applies: a job that reaches the model's
/// `maxPositions` finishes with `length`.
public struct StopConditions: Sendable, Equatable, Codable {
    /// New tokens at most; `nil` means up to the context length (and the KV cache).
    public var maxNewTokens: Int?
    /// Extra token ids that end the job (finish reason `stop`); the id is reported, its text is not.
    public var stopTokenIds: [Int32]
    /// Strings that end the job when they appear in the detokenized output; they are not emitted.
    public var stopStrings: [String]
    /// Keep going past the model's EOS ids.
    public var ignoreEos: Bool

    public init(maxNewTokens: Int? = nil, stopTokenIds: [Int32] = [], stopStrings: [String] = [], ignoreEos: Bool = false) {
        self.maxNewTokens = maxNewTokens
        self.stopTokenIds = stopTokenIds
        self.stopStrings = stopStrings
        self.ignoreEos = ignoreEos
    }
}
