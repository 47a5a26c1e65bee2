/// A piece of text on its way to the model: UTF-8 bytes, and whether it starts at the beginning of the input
/// (the `Metaspace` pre-tokenizer's `prepend_scheme: "first"` needs to know).
struct TextPiece {
    var bytes: [UInt8]
    var startsAtOrigin: Bool
}

/// A `pre_tokenizer` of tokenizer.json: splits normalized text into the words the model sees.
indirect enum PreTokenizer: Sendable {
    case sequence([PreTokenizer])
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(TextPattern, SplitBehavior, invert: Bool)
    case metaspace(replacement: [UInt8], prependScheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case whitespace
    case whitespaceSplit
    case punctuation(SplitBehavior)

    /// When `Metaspace` adds the replacement character in front of a piece.
    enum PrependScheme: Sendable { case always, first, never }

    static func parse(_ node: JSONNode) throws -> PreTokenizer {
        let type = try node.typeName()
        switch type {
        case "Sequence":
            return .sequence(try node.required("pretokenizers").array().map(parse))
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try node.bool("add_prefix_space", default: true),
                              useRegex: try node.bool("use_regex", default: true))
        case "Split":
            return .split(try TextPattern.parse(node.required("pattern")),
                          try SplitBehavior.parse(node, key: "behavior", default: .isolated),
                          invert: try node.bool("invert", default: false))
        case "Metaspace":
            let replacement = try node.optionalString("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1 else {
                throw node.invalid("replacement", "must be a single character")
            }
            let scheme: PrependScheme
            switch try node.optionalString("prepend_scheme") {
            case "always": scheme = .always
            case "first": scheme = .first
            case "never": scheme = .never
            case nil: scheme = try node.bool("add_prefix_space", default: true) ? .always : .never
            case let other?: throw node.invalid("prepend_scheme", "unknown scheme \"\(other)\"")
            }
            return .metaspace(replacement: Array(replacement.utf8), prependScheme: scheme,
                              split: try node.bool("split", default: true))
        case "Digits":
            return .digits(individual: try node.bool("individual_digits", default: false))
        case "Whitespace":
            return .whitespace
        case "WhitespaceSplit":
            return .whitespaceSplit
        case "Punctuation":
            return .punctuation(try SplitBehavior.parse(node, key: "behavior", default: .isolated))
        default:
            throw node.unknown(type)
        }
    }

    /// Splits every piece; empty pieces are dropped.
    func preTokenize(_ pieces: [TextPiece]) -> [TextPiece] {
        switch self {
        case .sequence(let steps):
            return steps.reduce(pieces) { $1.preTokenize($0) }
        case let .byteLevel(addPrefixSpace, useRegex):
            var out: [TextPiece] = []
            out.reserveCapacity(pieces.count * 4)
            for piece in pieces {
                var bytes = piece.bytes
                if addPrefixSpace && bytes.first != 0x20 { bytes.insert(0x20, at: 0) }
                if useRegex {
                    let ranges = SplitBehavior.isolated.split(
                        count: bytes.count, matches: TextPattern.gpt2.matches(in: bytes), invert: false)
                    for (n, r) in ranges.enumerated() {
                        out.append(TextPiece(bytes: ByteLevelAlphabet.encode(Array(bytes[r])),
                                             startsAtOrigin: piece.startsAtOrigin && n == 0))
                    }
                } else if !bytes.isEmpty {
                    out.append(TextPiece(bytes: ByteLevelAlphabet.encode(bytes), startsAtOrigin: piece.startsAtOrigin))
                }
            }
            return out
        case let .split(pattern, behavior, invert):
            return Self.splitEach(pieces) { bytes in
                behavior.split(count: bytes.count, matches: pattern.matches(in: bytes), invert: invert)
            }
        case let .metaspace(replacement, scheme, split):
            var out: [TextPiece] = []
            for piece in pieces {
                var bytes = TextPattern.literal([0x20]).replace(in: piece.bytes, with: replacement)
                let startsWithReplacement = bytes.starts(with: replacement)
                switch scheme {
                case .always where !startsWithReplacement,
                     .first where !startsWithReplacement && piece.startsAtOrigin:
                    bytes = replacement + bytes
                default:
                    break
                }
                if split {
                    let ranges = SplitBehavior.mergedWithNext.split(
                        count: bytes.count, matches: TextPattern.literal(replacement).matches(in: bytes), invert: false)
                    for (n, r) in ranges.enumerated() {
                        out.append(TextPiece(bytes: Array(bytes[r]), startsAtOrigin: piece.startsAtOrigin && n == 0))
                    }
                } else if !bytes.isEmpty {
                    out.append(TextPiece(bytes: bytes, startsAtOrigin: piece.startsAtOrigin))
                }
            }
            return out
        case .digits(let individual):
            return Self.splitEach(pieces) { bytes in
                (individual ? SplitBehavior.isolated : .contiguous).split(
                    count: bytes.count, matches: Self.scalarMatches(bytes, UnicodeText.isNumeric), invert: false)
            }
        case .whitespace:
            return Self.splitEach(pieces) { bytes in
                SplitBehavior.removed.split(count: bytes.count, matches: Self.wordRuns(bytes), invert: true)
            }
        case .whitespaceSplit:
            return Self.splitEach(pieces) { bytes in
                SplitBehavior.removed.split(
                    count: bytes.count, matches: Self.scalarMatches(bytes, UnicodeText.isWhitespace), invert: false)
            }
        case .punctuation(let behavior):
            return Self.splitEach(pieces) { bytes in
                behavior.split(count: bytes.count, matches: Self.scalarMatches(bytes, UnicodeText.isPunctuation),
                               invert: false)
            }
        }
    }

    private static func splitEach(_ pieces: [TextPiece], _ ranges: ([UInt8]) -> [Range<Int>]) -> [TextPiece] {
        var out: [TextPiece] = []
        out.reserveCapacity(pieces.count * 2)
        for piece in pieces {
            for r in ranges(piece.bytes) {
                out.append(TextPiece(bytes: Array(piece.bytes[r]), startsAtOrigin: piece.startsAtOrigin && r.lowerBound == 0))
            }
        }
        return out
    }

    /// Each scalar satisfying `predicate` is its own match.
    private static func scalarMatches(_ bytes: [UInt8], _ predicate: (UInt32) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let (v, n) = UnicodeText.decode(buffer, at: i)
                if predicate(v) { out.append(i..<(i + n)) }
                i += n
            }
        }
        return out
    }

    /// The matches of `\w+|[^\w\s]+`.
    private static func wordRuns(_ bytes: [UInt8]) -> [Range<Int>] {
        let (scalars, offsets) = UnicodeText.scalars(of: bytes)
        func kind(_ v: UInt32) -> Int {
            UnicodeText.isWordCharacter(v) ? 1 : (UnicodeText.isWhitespace(v) ? 0 : 2)
        }
        var out: [Range<Int>] = []
        var i = 0
        while i < scalars.count {
            let k = kind(scalars[i])
            var j = i + 1
            if k != 0 {
                while j < scalars.count && kind(scalars[j]) == k { j += 1 }
                out.append(offsets[i]..<offsets[j])
            }
            i = j
        }
        return out
    }
}
