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
        if holdsByteRuns && isByteToken(id) { return "" }
        let text = Array(tokenizer.decode(context + pending, skipSpecialTokens: skipSpecialTokens).utf8)
        guard text.count > contextText.count, text.starts(with: contextText) else { return "" }
        if Self.endsWithReplacement(text) { return releaseBeforeTail(of: text) }
        return commit(pending.count, text: text)
    }

    /// Returns `text` (the decode of `context + pending.prefix(count)`) past `contextText`, and makes those
    /// tokens the new context.
    private mutating func commit(_ count: Int, text: [UInt8]) -> String {
        let piece = String(decoding: text[contextText.count...], as: UTF8.self)
        context = Array(pending.prefix(count))
        contextText = Array(tokenizer.decode(context, skipSpecialTokens: skipSpecialTokens).utf8)
        pending.removeFirst(count)
        return piece
    }

    /// For `text` ending in U+FFFD: returns what comes before the last 3 tokens when that is final. The U+FFFD is
    /// either an unfinished character or a real U+FFFD token (Llama 3 and GPT-2 have one), which look the same;
    /// holding until the text stops ending in U+FFFD would hold a run of real ones (and stop strings) for good.
    /// An unfinished character's bytes (at most 3) lie in the last 3 tokens the decoder sees, as each carries at
    /// least one byte, and with 3 bytes after it every earlier character is settled.
    private mutating func releaseBeforeTail(of text: [UInt8]) -> String {
        var kept = 0
        var split = pending.count
        while split > 0 && kept < 3 {
            split -= 1
            if tokenizer.decodeKeeps(pending[split], skipSpecialTokens: skipSpecialTokens) { kept += 1 }
        }
        guard kept == 3 else { return "" }
        // Never inside a byte-fallback run: the decoder judges a run as a whole, and the context would cut it.
        while split > 0 && holdsByteRuns && isByteToken(pending[split - 1]) && isByteToken(pending[split]) { split -= 1 }
        guard split > 0 else { return "" }
        let head = Array(tokenizer.decode(context + pending.prefix(split), skipSpecialTokens: skipSpecialTokens).utf8)
        guard head.count > contextText.count, head.starts(with: contextText), text.starts(with: head) else { return "" }
        return commit(split, text: head)
    }

    private func isByteToken(_ id: Int32) -> Bool {
        tokenizer.tokenBytes(id).map(TokenDecoder.isByteToken) ?? false
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
