import LoraJSON

/// JSON for the tokenizer's command-line tools: strings and id arrays, byte-exact (unlike `JSONSerialization`,
/// which drops U+FEFF inside strings).
public enum TokenizerJSON {
    /// Why a line could not be read.
    public struct ParseError: Error, CustomStringConvertible {
        /// What is wrong with the JSON.
        public let description: String
    }

    /// Parses a JSON string value.
    public static func decodeString(_ text: String) throws -> String {
        guard case .string(let s) = try parse(text) else { throw ParseError(description: "expected a JSON string") }
        return s
    }

    /// Parses a JSON array of token ids.
    public static func decodeIds(_ text: String) throws -> [Int32] {
        guard case .array(let items) = try parse(text) else {
            throw ParseError(description: "expected a JSON array of token ids")
        }
        return try items.map { item in
            guard case .number(let n) = item, let id = Int32(exactly: n), id >= 0 else {
                throw ParseError(description: "expected a JSON array of non-negative integer token ids")
            }
            return id
        }
    }

    /// The JSON text of a string; non-ASCII is written as UTF-8, control characters escaped.
    public static func encode(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// The JSON text of an id array.
    public static func encode(_ ids: [Int32]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    private static func parse(_ text: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(Array(text.utf8), options: .lenient)
        } catch {
            throw ParseError(description: "invalid JSON: \(error.description)")
        }
    }
}
