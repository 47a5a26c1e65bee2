/// Turns a job's token stream into text, one token at a time. Every piece it returns is whole UTF-8 (a character
/// split across tokens, or a byte-fallback sequence, is held until complete), and the pieces joined equal
/// `tokenizer.decode(allIds, skipSpecialTokens:, cleanUpTokenizationSpaces:)`.
///
/// The work per token is bounded whatever the tokens: it decodes a short window (the tokens of the last release and
/// the tokens not yet released), and no token that can add nothing stays in that window. Skipped special tokens and
/// ids the tokenizer cannot show are dropped on arrival (`decode` drops them too); a repeated empty token string is
/// dropped (it changes nothing the first did not); a byte-fallback run that can no longer be valid UTF-8 becomes
/// U+FFFD per byte at once (what the decoder makes of the whole run). Only a run of byte tokens that is still valid
/// UTF-8 is held, at constant work per token, since one later invalid byte turns all of it into U+FFFD; it is
/// decoded when the run ends. See docs/tokenizer.md.
public struct IncrementalDetokenizer: Sendable {
    /// The tokenizer whose decoder this follows.
    public let tokenizer: Tokenizer
    /// Whether special tokens are left out of the text.
    public let skipSpecialTokens: Bool
    /// Whether transformers' `clean_up_tokenization` is applied to the text.
    public let cleansUpTokenizationSpaces: Bool
    /// Decoder inputs already turned into text; kept as the decoder's left context.
    private var context: [[UInt8]] = []
    /// The decode of `context`.
    private var contextText: [UInt8] = []
    /// Decoder inputs whose text has not been returned yet.
    private var pending: [[UInt8]] = []
    /// Whether byte-fallback runs must be held until a non-byte token ends them (the `ByteFallback` decoder turns a
    /// whole invalid run into U+FFFDs, so a valid-looking prefix of a run can still change).
    private let holdsByteRuns: Bool
    /// Whether a second empty token string in a row changes nothing (false only for a decoder that writes text
    /// into an empty token, such as a `Replace` whose pattern matches the empty string).
    private let dropsRepeatedEmptyTokens: Bool
    /// The byte tokens of the current byte-fallback run held at the end of `pending`.
    private var heldRunLength = 0
    /// Whether the current byte-fallback run can no longer be valid UTF-8 (its tokens are then U+FFFD).
    private var runIsInvalid = false
    /// The UTF-8 state of the current held run.
    private var runValidator = UTF8PrefixValidator()
    private var cleanup = TokenizationSpaceCleanupStream()
    /// Token strings passed to the decoder so far: the work done, for tests that hold it bounded per token.
    private(set) var decodedTokenCount = 0

    /// Non-byte decoder inputs held without releasing text before the window is released by force. No supported
    /// decoder holds more than a handful (a character's bytes, a `Strip` tail); the limit only bounds the work for a
    /// decoder that maps long runs of tokens to nothing, whose text then starts afresh at the cut.
    static let maxHeldTokens = 32
    /// What a byte token of an invalid run becomes: the decoder writes one U+FFFD per byte of such a run.
    private static let replacementInput: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// A detokenizer for one token stream. `cleanUpTokenizationSpaces` defaults to the tokenizer's setting.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true, cleanUpTokenizationSpaces: Bool? = nil) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.cleansUpTokenizationSpaces = cleanUpTokenizationSpaces ?? tokenizer.cleansUpTokenizationSpaces
        self.holdsByteRuns = tokenizer.decoder?.containsByteFallback ?? false
        self.dropsRepeatedEmptyTokens = tokenizer.decodeTokenStrings([[0x61], [], []])
            == tokenizer.decodeTokenStrings([[0x61], []])
    }

    /// Adds one token; returns the text that is now final (often empty while a character is incomplete).
    public mutating func append(_ id: Int32) -> String {
        clean(appendRaw(id))
    }

    /// Ends the stream: returns whatever is still held (with U+FFFD for incomplete characters, as `decode` does).
    public mutating func finish() -> String {
        defer {
            context.removeAll()
            contextText.removeAll()
            pending.removeAll()
            endRun()
        }
        var raw = ""
        if !pending.isEmpty {
            let text = decode(context + pending)
            var common = 0
            while common < min(text.count, contextText.count) && text[common] == contextText[common] { common += 1 }
            while common > 0 && common < text.count && text[common] & 0xC0 == 0x80 { common -= 1 }
            raw = String(decoding: text[common...], as: UTF8.self)
        }
        guard cleansUpTokenizationSpaces else { return raw }
        return cleanup.append(raw) + cleanup.finish()
    }

    private mutating func clean(_ raw: String) -> String {
        cleansUpTokenizationSpaces ? cleanup.append(raw) : raw
    }

    /// `append` before the space cleanup.
    private mutating func appendRaw(_ id: Int32) -> String {
        // Left out of `decode` altogether: nothing to do, and nothing to keep.
        guard var input = tokenizer.decoderInput(id, skipSpecialTokens: skipSpecialTokens) else { return "" }
        if holdsByteRuns, let byte = TokenDecoder.byteValue(input) {
            if !runIsInvalid {
                if runValidator.accept(byte) {
                    pending.append(input)
                    heldRunLength += 1
                    return ""
                }
                // The run can no longer be valid: the decoder writes U+FFFD for each of its bytes, whatever follows.
                runIsInvalid = true
                for i in pending.count - heldRunLength..<pending.count { pending[i] = Self.replacementInput }
                heldRunLength = 0
            }
            input = Self.replacementInput
        } else {
            endRun()
            if input.isEmpty && dropsRepeatedEmptyTokens && (pending.last ?? context.last)?.isEmpty == true { return "" }
        }
        pending.append(input)
        let text = decode(context + pending)
        if text.count > contextText.count && text.starts(with: contextText) {
            if Self.endsWithReplacement(text) {
                let piece = releaseBeforeTail(of: text)
                if !piece.isEmpty || pending.count <= Self.maxHeldTokens { return piece }
            } else {
                return commit(pending.count, text: text)
            }
        }
        return pending.count > Self.maxHeldTokens ? forceRelease(text) : ""
    }

    private mutating func endRun() {
        heldRunLength = 0
        runIsInvalid = false
        runValidator = UTF8PrefixValidator()
    }

    private mutating func decode(_ inputs: [[UInt8]]) -> [UInt8] {
        decodedTokenCount += inputs.count
        return Array(tokenizer.decodeTokenStrings(inputs).utf8)
    }

    /// Returns `text` (the decode of `context + pending.prefix(count)`) past `contextText`, and makes those
    /// tokens the new context.
    private mutating func commit(_ count: Int, text: [UInt8]) -> String {
        let piece = String(decoding: text[contextText.count...], as: UTF8.self)
        context = Array(pending.prefix(count))
        contextText = decode(context)
        pending.removeFirst(count)
        return piece
    }

    /// Releases the whole window when it has held `maxHeldTokens` tokens without text: returns what it shows past
    /// `contextText` (whole characters) and starts afresh from its last tokens.
    private mutating func forceRelease(_ text: [UInt8]) -> String {
        var common = 0
        while common < min(text.count, contextText.count) && text[common] == contextText[common] { common += 1 }
        while common > 0 && common < text.count && text[common] & 0xC0 == 0x80 { common -= 1 }
        let piece = String(decoding: text[common...], as: UTF8.self)
        // A short context keeps the next decodes short; it only has to keep the next tokens off the stream's start.
        context = Array(pending.suffix(2))
        contextText = decode(context)
        pending.removeAll()
        heldRunLength = 0
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
            if !pending[split].isEmpty { kept += 1 }
        }
        guard kept == 3 else { return "" }
        // Never inside a byte-fallback run: the decoder judges a run as a whole, and the context would cut it.
        while split > 0 && holdsByteRuns && isByteToken(pending[split - 1]) && isByteToken(pending[split]) { split -= 1 }
        guard split > 0 else { return "" }
        let head = decode(context + pending.prefix(split))
        guard head.count > contextText.count, head.starts(with: contextText), text.starts(with: head) else { return "" }
        return commit(split, text: head)
    }

    private func isByteToken(_ input: [UInt8]) -> Bool { TokenDecoder.isByteToken(input) }

    private static func endsWithReplacement(_ text: [UInt8]) -> Bool {
        text.count >= 3 && text[text.count - 3] == 0xEF && text[text.count - 2] == 0xBF && text[text.count - 1] == 0xBD
    }
}
