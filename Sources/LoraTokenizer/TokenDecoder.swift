/// A `decoder` of tokenizer.json: turns token strings back into text.
indirect enum TokenDecoder: Sendable {
    case byteLevel
    case replace(TextPattern, [UInt8])
    case byteFallback
    case fuse
    case strip(content: UInt32, start: Int, stop: Int)
    case metaspace(replacement: UInt32, prependFirst: Bool)
    case sequence([TokenDecoder])

    static func parse(_ node: JSONNode) throws -> TokenDecoder {
        let type = try node.typeName()
        switch type {
        case "ByteLevel":
            return .byteLevel
        case "Replace":
            return .replace(try TextPattern.parse(node.required("pattern"), allowFastPaths: false),
                            Array(try node.string("content").utf8))
        case "ByteFallback":
            return .byteFallback
        case "Fuse":
            return .fuse
        case "Strip":
            let content = try node.string("content")
            guard content.unicodeScalars.count == 1, let v = content.unicodeScalars.first?.value else {
                throw node.invalid("content", "must be a single character")
            }
            return .strip(content: v, start: try node.int("start", default: 0), stop: try node.int("stop", default: 0))
        case "Metaspace":
            let replacement = try node.optionalString("replacement") ?? "\u{2581}"
            guard replacement.unicodeScalars.count == 1, let v = replacement.unicodeScalars.first?.value else {
                throw node.invalid("replacement", "must be a single character")
            }
            let prependFirst: Bool
            if let scheme = try node.optionalString("prepend_scheme") {
                prependFirst = scheme != "never"
            } else {
                prependFirst = try node.bool("add_prefix_space", default: true)
            }
            return .metaspace(replacement: v, prependFirst: prependFirst)
        case "Sequence":
            return .sequence(try node.required("decoders").array().map(parse))
        default:
            throw node.unknown(type)
        }
    }

    /// The text of `tokens` (UTF-8 byte strings): the chain of decoders, then the pieces joined.
    func decode(_ tokens: [[UInt8]]) -> String {
        let pieces = decodeChain(tokens)
        var joined: [UInt8] = []
        for piece in pieces { joined.append(contentsOf: piece) }
        return String(decoding: joined, as: UTF8.self)
    }

    func decodeChain(_ tokens: [[UInt8]]) -> [[UInt8]] {
        switch self {
        case .sequence(let decoders):
            return decoders.reduce(tokens) { $1.decodeChain($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens { Self.appendByteLevel(token, to: &bytes) }
            // Invalid UTF-8 becomes U+FFFD here, as `String::from_utf8_lossy` does.
            return [Array(String(decoding: bytes, as: UTF8.self).utf8)]
        case let .replace(pattern, content):
            return tokens.map { pattern.replace(in: $0, with: content) }
        case .byteFallback:
            return Self.byteFallback(tokens)
        case .fuse:
            return [tokens.reduce(into: []) { $0.append(contentsOf: $1) }]
        case let .strip(content, start, stop):
            return tokens.map { token in
                let (scalars, offsets) = UnicodeText.scalars(of: token)
                var lower = 0
                while lower < min(start, scalars.count) && scalars[lower] == content { lower += 1 }
                var upper = scalars.count
                var removed = 0
                while removed < stop && upper > lower && scalars[upper - 1] == content { upper -= 1; removed += 1 }
                return Array(token[offsets[lower]..<offsets[upper]])
            }
        case let .metaspace(replacement, prependFirst):
            return tokens.enumerated().map { index, token in
                var out: [UInt8] = []
                out.reserveCapacity(token.count)
                for scalar in String(decoding: token, as: UTF8.self).unicodeScalars {
                    if scalar.value == replacement {
                        if index == 0 && prependFirst { continue }
                        out.append(0x20)
                    } else {
                        out.append(contentsOf: String(scalar).utf8)
                    }
                }
                return out
            }
        }
    }

    /// A byte-level token's bytes; a token with a character outside the alphabet contributes its own UTF-8.
    private static func appendByteLevel(_ token: [UInt8], to bytes: inout [UInt8]) {
        let start = bytes.count
        var ok = true
        token.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let (v, n) = UnicodeText.decode(buffer, at: i)
                let b = v < UInt32(ByteLevelAlphabet.byteForScalar.count) ? ByteLevelAlphabet.byteForScalar[Int(v)] : -1
                if b < 0 { ok = false; break }
                bytes.append(UInt8(b))
                i += n
            }
        }
        if !ok {
            bytes.removeSubrange(start...)
            bytes.append(contentsOf: token)
        }
    }

    /// `<0xXX>` tokens become bytes; a run that is not valid UTF-8 becomes one U+FFFD per byte.
    private static func byteFallback(_ tokens: [[UInt8]]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(tokens.count)
        var pending: [UInt8] = []
        func flush() {
            if pending.isEmpty { return }
            if UnicodeText.isValidUTF8(pending) {
                out.append(pending)
            } else {
                for _ in pending { out.append([0xEF, 0xBF, 0xBD]) }
            }
            pending.removeAll()
        }
        for token in tokens {
            if let byte = byteValue(token) {
                pending.append(byte)
            } else {
                flush()
                out.append(token)
            }
        }
        flush()
        return out
    }

    /// Whether the chain contains a `ByteFallback` decoder.
    var containsByteFallback: Bool {
        switch self {
        case .byteFallback: return true
        case .sequence(let decoders): return decoders.contains { $0.containsByteFallback }
        default: return false
        }
    }

    /// Whether `token` is a `<0xXX>` byte token.
    static func isByteToken(_ token: [UInt8]) -> Bool { byteValue(token) != nil }

    /// The byte of a `<0xXX>` token, or nil.
    static func byteValue(_ token: [UInt8]) -> UInt8? {
        guard token.count == 6, token[0] == 0x3C, token[1] == 0x30, token[2] == 0x78, token[5] == 0x3E else { return nil }
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        guard let high = hex(token[3]), let low = hex(token[4]) else { return nil }
        return high << 4 | low
    }
}
