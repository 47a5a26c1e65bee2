/// One sequence's part of a ragged forward batch: new tokens appended after what its KV pages already hold.
public struct SequenceChunk: Sendable {
    /// Which positions of the chunk should produce logits.
    public enum LogitsRequest: Sendable, Equatable {
        /// None (a prefill chunk that is not the prompt's last).
        case none
        /// The last new token (decode, or the end of a prompt).
        case last
        /// Every new token (scoring, tests).
        case all
    }

    /// New token ids.
    public var tokens: [Int32]
    /// The sequence's block table: pages that hold positions `0..<cachedLength + tokens.count`.
    public var pages: [Int32]
    /// Positions already in the cache.
    public var cachedLength: Int
    /// Which positions return logits.
    public var logits: LogitsRequest

    /// A chunk of `tokens` after `cachedLength` cached positions, stored in `pages`.
    public init(tokens: [Int32], pages: [Int32], cachedLength: Int, logits: LogitsRequest = .last) {
        self.tokens = tokens
        self.pages = pages
        self.cachedLength = cachedLength
        self.logits = logits
    }

    /// Number of rows of logits this chunk produces.
    public var logitRowCount: Int {
        switch logits {
        case .none: return 0
        case .last: return tokens.isEmpty ? 0 : 1
        case .all: return tokens.count
        }
    }
}

/// Why a forward batch was refused before any computation.
public enum ForwardError: Error, Equatable, CustomStringConvertible {
    /// A token id outside the vocabulary.
    case tokenOutOfRange(sequence: Int, token: Int32, vocabSize: Int)
    /// The chunk's pages cannot hold its positions.
    case notEnoughPages(sequence: Int, needed: Int, given: Int)
    /// A page id outside the pool.
    case invalidPage(sequence: Int, page: Int32)
    /// The sequence would run past the model's context.
    case contextExceeded(sequence: Int, length: Int, maxPositions: Int)
    /// A chunk claims fewer than 0 cached positions.
    case negativeCachedLength(sequence: Int, cachedLength: Int)
    /// A page appears twice in the batch (in one chunk's block table or in two chunks'): the writes of one
    /// position would land on another's.
    case sharedPage(sequence: Int, page: Int32)
    /// A prompt needs at least one token.
    case emptyPrompt
    /// The KV cache for `positions` would not fit in the machine's memory (`bytes` nil: more than 2^63).
    case cacheTooLarge(positions: Int, bytes: Int?, physicalMemory: UInt64)
    /// The batch's adapters (`BatchAdapters`) do not fit the batch: the message says what is wrong.
    case invalidAdapters(String)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(s, t, v): return "sequence \(s): token id \(t) is outside the vocabulary (0..<\(v))"
        case let .notEnoughPages(s, n, g): return "sequence \(s): needs \(n) KV pages, given \(g)"
        case let .invalidPage(s, p): return "sequence \(s): KV page \(p) is not in the pool"
        case let .contextExceeded(s, l, m): return "sequence \(s): length \(l) exceeds the model's context of \(m) positions"
        case let .negativeCachedLength(s, n): return "sequence \(s): cachedLength \(n) is negative; give the positions already in its pages (0 or more)"
        case let .sharedPage(s, p): return "sequence \(s): KV page \(p) is used twice in the batch; give every sequence pages of its own"
        case .emptyPrompt: return "the prompt is empty: give at least one token"
        case let .invalidAdapters(message): return "invalid batch adapters: \(message)"
        case let .cacheTooLarge(n, bytes, memory):
            return "\(n) positions need \(bytes.map { "\($0 >> 20) MiB" } ?? "more than 2^63 bytes") of KV cache, more than the machine's \(memory >> 20) MiB; ask for fewer steps"
        }
    }
}
