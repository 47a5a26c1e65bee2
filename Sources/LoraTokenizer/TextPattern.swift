import Foundation

/// A `{"String": ...}` or `{"Regex": ...}` pattern as used by `Replace` and `Split`: finds non-overlapping,
/// non-empty matches in UTF-8 text, left to right.
enum TextPattern: Sendable {
    case literal([UInt8])
    case regex(RegexBox)
    /// The GPT-2 byte-level pattern, run by the hand-written scanner.
    case gpt2
    /// The Llama 3 pattern, run by the hand-written scanner.
    case llama3

    /// The GPT-2 pre-tokenizer pattern exactly as it appears in tokenizer.json files.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    /// The Llama 3 pre-tokenizer pattern exactly as it appears in tokenizer.json files.
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Parses a pattern object; `allowFastPaths` lets known regexes use the scanners.
    static func parse(_ node: JSONNode, allowFastPaths: Bool = true) throws -> TextPattern {
        if let literal = try node.optionalString("String") {
            return .literal(Array(literal.utf8))
        }
        if let pattern = try node.optionalString("Regex") {
            if allowFastPaths && pattern == gpt2Pattern { return .gpt2 }
            if allowFastPaths && pattern == llama3Pattern { return .llama3 }
            return .regex(try RegexBox(pattern, file: node.file, component: node.path))
        }
        throw node.invalid("String", "a pattern must have a \"String\" or a \"Regex\"")
    }

    /// The byte ranges of all non-empty matches in `bytes`, in order.
    func matches(in bytes: [UInt8]) -> [Range<Int>] {
        switch self {
        case .literal(let needle):
            return Self.literalMatches(of: needle, in: bytes)
        case .regex(let box):
            return box.matches(in: bytes)
        case .gpt2:
            return PreTokenizerScanner.matches(in: bytes, rule: .gpt2)
        case .llama3:
            return PreTokenizerScanner.matches(in: bytes, rule: .llama3)
        }
    }

    private static func literalMatches(of needle: [UInt8], in bytes: [UInt8]) -> [Range<Int>] {
        guard !needle.isEmpty, bytes.count >= needle.count else { return [] }
        var result: [Range<Int>] = []
        let first = needle[0]
        var i = 0
        let last = bytes.count - needle.count
        while i <= last {
            if bytes[i] == first {
                var j = 1
                while j < needle.count && bytes[i + j] == needle[j] { j += 1 }
                if j == needle.count {
                    result.append(i..<(i + needle.count))
                    i += needle.count
                    continue
                }
            }
            i += 1
        }
        return result
    }

    /// Replaces every match with `content`.
    func replace(in bytes: [UInt8], with content: [UInt8]) -> [UInt8] {
        let found = matches(in: bytes)
        if found.isEmpty { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + found.count * content.count)
        var last = 0
        for range in found {
            out.append(contentsOf: bytes[last..<range.lowerBound])
            out.append(contentsOf: content)
            last = range.upperBound
        }
        out.append(contentsOf: bytes[last...])
        return out
    }
}

/// An `NSRegularExpression` (ICU), which is safe to use from several threads once built.
final class RegexBox: @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ pattern: String, file: String, component: String) throws {
        do {
            regex = try NSRegularExpression(pattern: pattern, options: [])
        } catch {
            throw TokenizerError.invalidRegex(file: file, component: component, pattern: pattern,
                                              reason: String(describing: error))
        }
    }

    func matches(in bytes: [UInt8]) -> [Range<Int>] {
        let string = String(decoding: bytes, as: UTF8.self)
        let found = regex.matches(in: string, options: [], range: NSRange(location: 0, length: string.utf16.count))
        if found.isEmpty { return [] }
        // UTF-16 offset -> UTF-8 offset at every scalar boundary (ICU ranges may split grapheme clusters,
        // which `Range(_:in:)` refuses).
        var utf8Offset = [Int](repeating: -1, count: string.utf16.count + 1)
        var u16 = 0
        var u8 = 0
        for scalar in string.unicodeScalars {
            utf8Offset[u16] = u8
            u16 += scalar.utf16.count
            u8 += scalar.utf8.count
        }
        utf8Offset[u16] = u8
        return found.compactMap { match in
            let lower = match.range.location
            let upper = lower + match.range.length
            guard match.range.length > 0, utf8Offset[lower] >= 0, utf8Offset[upper] >= 0 else { return nil }
            return utf8Offset[lower]..<utf8Offset[upper]
        }
    }
}
