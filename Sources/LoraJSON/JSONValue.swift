/// A JSON value. Object members keep their order and their exact key bytes: `JSONSerialization` cannot be used,
/// because `[String: Any]` merges canonically equivalent keys (U+03AC and U+1F71 are different tokens), drops
/// U+FEFF inside strings and loses the exact text of numbers (JSON-RPC ids must be echoed as sent).
public enum JSONValue: Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, kept as its exact text.
    case number(JSONNumber)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object: members in document order; duplicate keys are kept as they came.
    case object([(String, JSONValue)])

    /// A string value.
    public init(_ string: String) { self = .string(string) }

    /// An integer value.
    public static func int(_ value: Int) -> JSONValue { .number(JSONNumber(value)) }

    /// A 64-bit integer value.
    public static func int64(_ value: Int64) -> JSONValue { .number(JSONNumber(value)) }

    /// An unsigned 64-bit integer value.
    public static func uint64(_ value: UInt64) -> JSONValue { .number(JSONNumber(value)) }

    /// A floating-point value; NaN and infinities are written as `null`.
    public static func double(_ value: Double) -> JSONValue { .number(JSONNumber(value)) }

    /// The first member `key` of an object (keys compared byte for byte), or nil (also when not an object).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for (name, value) in members where JSONValue.sameBytes(name, key) { return value }
        return nil
    }

    /// The string, if this is a string.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    /// The boolean, if this is `true` or `false`.
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// The number, if this is a number.
    public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }

    /// The items, if this is an array.
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// The members in order, if this is an object.
    public var objectValue: [(String, JSONValue)]? { if case .object(let o) = self { return o } else { return nil } }

    /// Whether this is `null`.
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// A short name of the value's kind for messages: "a string", "an object", "null", ...
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Byte-for-byte string comparison (Swift's `==` on `String` uses canonical equivalence).
    static func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}

extension JSONValue: Equatable {
    /// Structural equality: member order matters, keys compare byte for byte, numbers compare by their text.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return sameBytes(a, b)
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where !sameBytes(x.0, y.0) || x.1 != y.1 { return false }
            return true
        default: return false
        }
    }
}
