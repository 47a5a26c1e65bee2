/// One entry of `added_tokens` in tokenizer.json.
public struct AddedToken: Sendable, Equatable {
    /// The token's id.
    public let id: Int32
    /// The text the token stands for.
    public let content: String
    /// Whether the token is special (skipped by `decode(_:skipSpecialTokens: true)`).
    public let special: Bool
    /// Only match when not inside a word.
    public let singleWord: Bool
    /// Absorb whitespace on the left of a match.
    public let lstrip: Bool
    /// Absorb whitespace on the right of a match.
    public let rstrip: Bool
    /// Match in the normalized text rather than the raw text.
    public let normalized: Bool
}

/// Finds added tokens in text, leftmost-longest, with the `single_word`, `lstrip` and `rstrip` rules of the
/// tokenizers library.
struct AddedTokenMatcher: Sendable {
    /// (pattern bytes, token) grouped by first byte, longest pattern first.
    private let byFirstByte: [[([UInt8], AddedToken)]]
    let isEmpty: Bool

    init(_ entries: [([UInt8], AddedToken)]) {
        var groups = [[([UInt8], AddedToken)]](repeating: [], count: 256)
        for entry in entries where !entry.0.isEmpty { groups[Int(entry.0[0])].append(entry) }
        for b in 0..<256 { groups[b].sort { $0.0.count > $1.0.count } }
        byFirstByte = groups
        isEmpty = entries.allSatisfy { $0.0.isEmpty }
    }

    /// A piece of text: either plain text (to be normalized and tokenized) or a matched added token.
    enum Segment {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Splits `bytes` into plain text and added tokens.
    func split(_ bytes: [UInt8]) -> [Segment] {
        if isEmpty || bytes.isEmpty { return bytes.isEmpty ? [] : [.text(0..<bytes.count)] }
        var segments: [Segment] = []
        var startOffset = 0
        var i = 0
        while i < bytes.count {
            guard let (length, token) = longestMatch(bytes, at: i) else { i += 1; continue }
            var start = i
            var stop = i + length
            if token.singleWord {
                let startOK = start == 0 || !Self.endsWithWord(bytes, before: start)
                let stopOK = stop == bytes.count || !Self.startsWithWord(bytes, at: stop)
                if !startOK || !stopOK { i += length; continue }
            }
            if token.lstrip {
                var s = start
                while s > 0, let (v, n) = Self.scalarBefore(bytes, s), UnicodeText.isWhitespace(v) { s -= n }
                start = max(s, startOffset)
            }
            if token.rstrip {
                bytes.withUnsafeBufferPointer { buffer in
                    while stop < buffer.count {
                        let (v, n) = UnicodeText.decode(buffer, at: stop)
                        if !UnicodeText.isWhitespace(v) { break }
                        stop += n
                    }
                }
            }
            if startOffset < start { segments.append(.text(startOffset..<start)) }
            segments.append(.token(token.id))
            startOffset = stop
            i = max(stop, i + length)
        }
        if startOffset < bytes.count { segments.append(.text(startOffset..<bytes.count)) }
        return segments
    }

    private func longestMatch(_ bytes: [UInt8], at i: Int) -> (Int, AddedToken)? {
        let candidates = byFirstByte[Int(bytes[i])]
        if candidates.isEmpty { return nil }
        for (pattern, token) in candidates where pattern.count <= bytes.count - i {
            var j = 1
            while j < pattern.count && bytes[i + j] == pattern[j] { j += 1 }
            if j == pattern.count { return (pattern.count, token) }
        }
        return nil
    }

    private static func scalarBefore(_ bytes: [UInt8], _ end: Int) -> (UInt32, Int)? {
        var start = end - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return nil }
        let (v, n) = bytes.withUnsafeBufferPointer { UnicodeText.decode($0, at: start) }
        return (v, n)
    }

    private static func endsWithWord(_ bytes: [UInt8], before end: Int) -> Bool {
        guard let (v, _) = scalarBefore(bytes, end) else { return false }
        return UnicodeText.isAlphanumeric(v)
    }

    private static func startsWithWord(_ bytes: [UInt8], at start: Int) -> Bool {
        let (v, _) = bytes.withUnsafeBufferPointer { UnicodeText.decode($0, at: start) }
        return UnicodeText.isAlphanumeric(v)
    }
}
