/// transformers' `clean_up_tokenization` (used when tokenizer_config.json has `clean_up_tokenization_spaces: true`):
/// ten replacements applied one after another, each a left-to-right pass over the whole text that replaces every
/// non-overlapping occurrence, as Python's `str.replace` does.
enum TokenizationSpaceCleanup {
    /// (pattern, replacement), in transformers' order. Every pattern is ASCII, so working on UTF-8 bytes matches
    /// Python's work on code points.
    static let rules: [(pattern: [UInt8], replacement: [UInt8])] = ([
        (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
        (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
    ] as [(String, String)]).map { (pattern: Array($0.0.utf8), replacement: Array($0.1.utf8)) }

    /// The cleaned text.
    static func apply(_ text: String) -> String {
        var bytes = Array(text.utf8)
        for rule in rules { bytes = replaceAll(rule.pattern, with: rule.replacement, in: bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func replaceAll(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes.count - i >= pattern.count && bytes[i..<i + pattern.count].elementsEqual(pattern) {
                out.append(contentsOf: replacement)
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}

/// `TokenizationSpaceCleanup` on a stream of text pieces: the pieces it returns join to `apply(whole text)`.
/// Each replacement pass is a stage that holds back at most a proper prefix of its pattern (3 ASCII bytes), since
/// only the next bytes can tell whether a match starts there; so the cleanup of a trailing `" "`, `" '"` or `" n"`
/// waits for the next piece, and the work per byte is bounded.
struct TokenizationSpaceCleanupStream: Sendable {
    /// The bytes each stage holds: a proper prefix of its pattern.
    private var held = [[UInt8]](repeating: [], count: TokenizationSpaceCleanup.rules.count)

    /// Adds text; returns the cleaned text that no later text can change.
    mutating func append(_ text: String) -> String {
        if text.isEmpty { return "" }
        var bytes = Array(text.utf8)
        for stage in held.indices { bytes = feed(stage, bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Ends the stream: returns what the stages still hold (no pattern can match in it any more).
    mutating func finish() -> String {
        var bytes: [UInt8] = []
        for stage in held.indices {
            bytes = feed(stage, bytes)
            bytes.append(contentsOf: held[stage])
            held[stage].removeAll()
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Runs `bytes` through one stage; returns what it lets out. At the held bytes' start, either the pattern matches
    /// (replace it), or they are still a prefix of it (wait), or no match starts there (let one byte out, look again).
    private mutating func feed(_ stage: Int, _ bytes: [UInt8]) -> [UInt8] {
        let (pattern, replacement) = TokenizationSpaceCleanup.rules[stage]
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var buffer = held[stage]
        for byte in bytes {
            // Fast path: nothing held and the byte cannot start a match (every pattern starts with a space).
            if buffer.isEmpty && byte != pattern[0] { out.append(byte); continue }
            buffer.append(byte)
            while !buffer.isEmpty {
                if buffer == pattern {
                    out.append(contentsOf: replacement)
                    buffer.removeAll()
                } else if pattern.starts(with: buffer) {
                    break
                } else {
                    out.append(buffer.removeFirst())
                }
            }
        }
        held[stage] = buffer
        return out
    }
}
