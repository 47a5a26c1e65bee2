/// A JSON value as written in the file. Numbers keep their literal text, so an integer is read exactly
/// (`JSONValue.integer`) and a value too large for a Double is still a value whose key an error can name;
/// objects keep their keys in file order (PEFT tries `rank_pattern` keys in that order).
///
/// LoraModel reads its two JSON inputs from disk (safetensors headers, `adapter_config.json`) with this type
/// and `JSONDocumentParser`, so both follow one grammar and one integer rule.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, already checked against the JSON grammar.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value as compact JSON, for error messages.
    var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let literal): return literal
        case .string(let s): return Self.quoted(s)
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case .object(let object):
            return "{" + object.entries.map { Self.quoted($0.key) + ":" + $0.value.rendered }.joined(separator: ",") + "}"
        }
    }

    /// The string, if this is one.
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A JSON string literal for `s`, escaping quotes, backslashes and control characters.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// A JSON object: its entries in file order. The parser refuses a key that appears twice, so a lookup by
/// key is never ambiguous (two entries for one safetensors tensor could otherwise alias).
struct JSONObject: Equatable, Sendable {
    /// Entries in file order, keys unique.
    let entries: [(key: String, value: JSONValue)]

    init(entries: [(key: String, value: JSONValue)]) { self.entries = entries }

    /// The value of `key`, nil when absent.
    subscript(key: String) -> JSONValue? {
        entries.first { $0.key == key }?.value
    }

    static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
