import LoraTokenizer

/// Turns a job's generated tokens into text and decides when it stops: EOS ids (unless ignored), extra stop
/// token ids, stop strings (matched on the detokenized stream and withheld), the token limit.
struct StopChecker: Sendable {
    /// What one token produced.
    struct Outcome: Equatable {
        /// Text that became final (without stop strings).
        var text: String
        /// Set when the job ends with this token.
        var finish: FinishReason?
        var stopString: String?
    }

    private let stopIds: Set<Int32>
    private let maxNewTokens: Int
    private var detokenizer: IncrementalDetokenizer?
    private var matcher: StopStringMatcher
    private(set) var generated = 0

    /// `maxNewTokens` is already capped by the context; `eosTokenIds` are the model's.
    init(stop: StopConditions, maxNewTokens: Int, eosTokenIds: [Int32], tokenizer: Tokenizer?) {
        stopIds = Set(stop.stopTokenIds + (stop.ignoreEos ? [] : eosTokenIds))
        self.maxNewTokens = maxNewTokens
        detokenizer = tokenizer.map { IncrementalDetokenizer(tokenizer: $0, skipSpecialTokens: true) }
        matcher = StopStringMatcher(stopStrings: stop.stopStrings)
    }

    /// Takes the next generated token.
    mutating func append(_ token: Int32) -> Outcome {
        generated += 1
        if stopIds.contains(token) {
            let rest = flush()
            return Outcome(text: rest.text, finish: .stop, stopString: rest.stop)
        }
        var text = ""
        if detokenizer != nil {
            let out = matcher.append(detokenizer?.append(token) ?? "")
            text = out.text
            if let stop = out.stop { return Outcome(text: text, finish: .stop, stopString: stop) }
        }
        if generated >= maxNewTokens {
            let rest = flush()
            return Outcome(text: text + rest.text, finish: rest.stop == nil ? .length : .stop, stopString: rest.stop)
        }
        return Outcome(text: text, finish: nil)
    }

    /// The text still held at the end of the stream (an incomplete character, a possible stop prefix).
    private mutating func flush() -> (text: String, stop: String?) {
        guard detokenizer != nil else { return ("", nil) }
        let out = matcher.append(detokenizer?.finish() ?? "")
        return (out.text + matcher.finish(), out.stop)
    }
}
