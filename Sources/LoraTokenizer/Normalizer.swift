import Foundation

/// A `normalizer` of tokenizer.json: rewrites the text (outside added tokens) before pre-tokenization.
indirect enum Normalizer: Sendable {
    case sequence([Normalizer])
    case prepend([UInt8])
    case replace(TextPattern, [UInt8])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)

    static func parse(_ node: JSONNode) throws -> Normalizer {
        let type = try node.typeName()
        switch type {
        case "Sequence":
            return .sequence(try node.required("normalizers").array().map(parse))
        case "Prepend":
            return .prepend(Array(try node.string("prepend").utf8))
        case "Replace":
            return .replace(try TextPattern.parse(node.required("pattern"), allowFastPaths: false),
                            Array(try node.string("content").utf8))
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip":
            return .strip(left: try node.bool("strip_left", default: true),
                          right: try node.bool("strip_right", default: true))
        default:
            throw node.unknown(type)
        }
    }

    func normalize(_ bytes: [UInt8]) -> [UInt8] {
        switch self {
        case .sequence(let normalizers):
            return normalizers.reduce(bytes) { $1.normalize($0) }
        case .prepend(let prefix):
            return bytes.isEmpty ? bytes : prefix + bytes
        case let .replace(pattern, content):
            return pattern.replace(in: bytes, with: content)
        case .nfc:
            return Self.isASCII(bytes) ? bytes : Array(Self.string(bytes).precomposedStringWithCanonicalMapping.utf8)
        case .nfd:
            return Self.isASCII(bytes) ? bytes : Array(Self.string(bytes).decomposedStringWithCanonicalMapping.utf8)
        case .nfkc:
            return Self.isASCII(bytes)
                ? bytes : Array(Self.string(bytes).precomposedStringWithCompatibilityMapping.utf8)
        case .nfkd:
            return Self.isASCII(bytes)
                ? bytes : Array(Self.string(bytes).decomposedStringWithCompatibilityMapping.utf8)
        case .lowercase:
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            for scalar in Self.string(bytes).unicodeScalars {
                if scalar.isASCII {
                    let v = UInt8(scalar.value)
                    out.append(v >= 65 && v <= 90 ? v + 32 : v)
                } else {
                    out.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
                }
            }
            return out
        case let .strip(left, right):
            let (scalars, offsets) = UnicodeText.scalars(of: bytes)
            var start = 0
            var end = scalars.count
            if left { while start < end && UnicodeText.isWhitespace(scalars[start]) { start += 1 } }
            if right { while end > start && UnicodeText.isWhitespace(scalars[end - 1]) { end -= 1 } }
            return Array(bytes[offsets[start]..<offsets[end]])
        }
    }

    private static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    private static func isASCII(_ bytes: [UInt8]) -> Bool { bytes.allSatisfy { $0 < 0x80 } }
}
