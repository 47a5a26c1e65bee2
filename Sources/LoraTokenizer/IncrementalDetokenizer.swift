/// Turns a job's token stream into text, one token at a time. Every piece it returns is whole UTF-8 (a character
/// split across tokens, or a byte-fallback sequence, is held until complete), and the pieces joined equal
/// `tokenizer.decode(allIds)`.
public struct IncrementalDetokenizer: Sendable {
    /// The tokenizer whose decoder this follows.
    public let tokenizer: Tokenizer
    /// Whether special tokens are left out of the text.
    public let skipSpecialTokens: Bool
    /// Ids already turned into text; kept as the decoder's left context.
    private var context: [Int32] = []
    /// `decode(context)`.
    private var contextText: [UInt8] = []
    /// Ids whose text has not been returned yet.
    private var pending: [Int32] = []
    /// Whether byte-fallback runs must be held until a non-byte token ends them (the `ByteFallback` decoder turns a
    /// whole invalid run into U+FFFDs, so a valid-looking prefix of a run can still change).
    private let holdsByteRuns: Bool

    /// A detokenizer for one token stream.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.holdsByteRuns = tokenizer.decoder?.containsByteFallback ?? false
    }

    /// Adds one token; returns the text that is now final (often empty while a character is incomplete).
    public mutating func append(_ id: Int32) -> String {
        pending.append(id)
        if holdsByteRuns, let token = tokenizer.tokenBytes(id), TokenDecoder.isByteToken(token) { return "" }
        let text = Array(tokenizer.decode(context + pending, skipSpecialTokens: skipSpecialTokens).utf8)
        guard text.count > contextText.count, text.starts(with: contextText), !Self.endsWithReplacement(text) else {
            return ""
        }
        let piece = String(decoding: text[contextText.count...], as: UTF8.self)
        context = pending
        contextText = Array(tokenizer.decode(context, skipSpecialTokens: skipSpecialTokens).utf8)
        pending.removeAll(keepingCapacity: true)
        return piece
    }

    /// Ends the stream: returns whatever is still held (with U+FFFD for incomplete characters, as `decode` does).
    public mutating func finish() -> String {
        defer {
            context.removeAll()
            contextText.removeAll()
            pending.removeAll()
        }
        if pending.isEmpty { return "" }
        let text = Array(tokenizer.decode(context + pending, skipSpecialTokens: skipSpecialTokens).utf8)
        var common = 0
        while common < min(text.count, contextText.count) && text[common] == contextText[common] { common += 1 }
        while common > 0 && common < text.count && text[common] & 0xC0 == 0x80 { common -= 1 }
        return String(decoding: text[common...], as: UTF8.self)
    }

    private static func endsWithReplacement(_ text: [UInt8]) -> Bool {
        text.count >= 3 && text[text.count - 3] == 0xEF && text[text.count - 2] == 0xBF && text[text.count - 1] == 0xBD
    }
}
