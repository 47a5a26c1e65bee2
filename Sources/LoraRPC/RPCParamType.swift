import LoraJSON

/// The type a parameter must have; validation and the OpenRPC schema both come from it.
public indirect enum RPCParamType: Sendable {
    /// A string.
    case string
    /// An integer (any notation of an exact integer) in `min...max`.
    case integer(min: Int128, max: Int128)
    /// A finite number, optionally bounded.
    case number(min: Double?, max: Double?)
    /// `true` or `false`.
    case boolean
    /// An object; with properties, exactly those (validated recursively), otherwise any object.
    case object([RPCParam]?)
    /// An array whose items have the given type, with at most `maxCount` items when given.
    case array(RPCParamType, maxCount: Int?)
    /// One of the given strings.
    case enumeration([String])
    /// A value matching one of the given types (the first that matches).
    case oneOf([RPCParamType])
    /// The type, or null.
    case nullable(RPCParamType)
    /// Any JSON value.
    case any

    /// An integer in `Int64`'s range.
    public static let int64 = RPCParamType.integer(min: Int128(Int64.min), max: Int128(Int64.max))
    /// An integer in `UInt64`'s range.
    public static let uint64 = RPCParamType.integer(min: 0, max: Int128(UInt64.max))
    /// An integer in `range`.
    public static func integer(_ range: ClosedRange<Int64>) -> RPCParamType {
        .integer(min: Int128(range.lowerBound), max: Int128(range.upperBound))
    }
    /// A finite number in `range`.
    public static func number(_ range: ClosedRange<Double>) -> RPCParamType { .number(min: range.lowerBound, max: range.upperBound) }
    /// Any finite number.
    public static let anyNumber = RPCParamType.number(min: nil, max: nil)
    /// An array of `item`s.
    public static func array(of item: RPCParamType, maxCount: Int? = nil) -> RPCParamType { .array(item, maxCount: maxCount) }
    /// Any object.
    public static let anyObject = RPCParamType.object(nil)

    /// What a value must be, in words: "an integer in 0...18446744073709551615".
    public var expectation: String {
        switch self {
        case .string: return "a string"
        case .integer(let lo, let hi): return "an integer in \(RPCParamType.bound(lo))...\(RPCParamType.bound(hi))"
        case .number(let lo?, let hi?): return "a number in \(lo)...\(hi)"
        case .number(let lo?, nil): return "a number ≥ \(lo)"
        case .number(nil, let hi?): return "a number ≤ \(hi)"
        case .number(nil, nil): return "a number"
        case .boolean: return "true or false"
        case .object(let properties?):
            return "an object with " + (properties.isEmpty ? "no members" : properties.map(\.name).joined(separator: ", "))
        case .object(nil): return "an object"
        case .array(let item, let max?): return "an array of at most \(max) items, each \(item.expectation)"
        case .array(let item, nil): return "an array of \(item.expectation)"
        case .enumeration(let options): return "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
        case .oneOf(let types): return types.map(\.expectation).joined(separator: " or ")
        case .nullable(let type): return "null or \(type.expectation)"
        case .any: return "a JSON value"
        }
    }

    /// An integer bound as people read it: powers of two for the 64-bit limits ("2^64-1"), decimal otherwise.
    static func bound(_ value: Int128) -> String {
        switch value {
        case Int128(UInt64.max): return "2^64-1"
        case Int128(Int64.max): return "2^63-1"
        case Int128(Int64.min): return "-2^63"
        case Int128(UInt32.max): return "2^32-1"
        case Int128(Int32.max): return "2^31-1"
        case Int128(Int32.min): return "-2^31"
        default: return String(value)
        }
    }

    /// Whether null is accepted.
    public var acceptsNull: Bool {
        switch self {
        case .nullable, .any: return true
        case .oneOf(let types): return types.contains { $0.acceptsNull }
        default: return false
        }
    }

    /// Checks `value`; the error names `path` (the parameter), what it must be and what it got.
    public func validate(_ value: JSONValue, path: String) -> RPCError? {
        switch (self, value) {
        case (.any, _), (.string, .string), (.boolean, .bool), (.nullable, .null): return nil
        case (.integer(let lo, let hi), .number(let n)):
            if let v = n.int128, v >= lo, v <= hi { return nil }
        case (.number(let lo, let hi), .number(let n)):
            if let d = n.double, lo.map({ d >= $0 }) ?? true, hi.map({ d <= $0 }) ?? true { return nil }
        case (.enumeration(let options), .string(let s)):
            if options.contains(where: { $0.utf8.elementsEqual(s.utf8) }) { return nil }
        case (.array(let item, let maxCount), .array(let items)):
            if let maxCount, items.count > maxCount {
                return RPCParamType.mismatch(path, expectation, got: "an array of \(items.count) items")
            }
            for (i, element) in items.enumerated() {
                if let error = item.validate(element, path: "\(path)[\(i)]") { return error }
            }
            return nil
        case (.object(nil), .object): return nil
        case (.object(let properties?), .object):
            switch RPCParam.validate(value, against: properties, prefix: "\(path).") {
            case .success: return nil
            case .failure(let error): return error
            }
        case (.nullable(let type), _): return type.validate(value, path: path)
        case (.oneOf(let types), _):
            if types.contains(where: { $0.validate(value, path: path) == nil }) { return nil }
        default: break
        }
        return RPCParamType.mismatch(path, expectation, got: RPCParamType.describe(value))
    }

    /// The -32602 error "`path` must be `expected`, got `got`" with `data {param, expected, got}`.
    public static func mismatch(_ path: String, _ expected: String, got: String) -> RPCError {
        .invalidParams("\(path) must be \(expected), got \(got)",
                       data: ["param": .string(path), "expected": .string(expected), "got": .string(got)])
    }

    /// A short, bounded rendering of a value for error messages: numbers and short strings as written.
    public static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.text.count <= 40 ? n.text : "a number of \(n.text.utf8.count) digits"
        case .string(let s):
            if s.utf8.count <= 40 { return JSONValue.string(s).serializedString }
            return "a string of \(s.utf8.count) bytes"
        case .array(let a): return "an array of \(a.count) items"
        case .object: return "an object"
        }
    }

    /// The JSON Schema of the type (for `rpc.discover`).
    public var schema: JSONValue {
        switch self {
        case .string: return ["type": "string"]
        case .integer(let lo, let hi):
            return ["type": "integer", "minimum": .number(JSONNumber(integerText: lo)), "maximum": .number(JSONNumber(integerText: hi))]
        case .number(let lo, let hi):
            var members: [(String, JSONValue)] = [("type", "number")]
            if let lo { members.append(("minimum", .double(lo))) }
            if let hi { members.append(("maximum", .double(hi))) }
            return .object(members)
        case .boolean: return ["type": "boolean"]
        case .object(nil): return ["type": "object"]
        case .object(let properties?):
            return ["type": "object",
                    "properties": .object(properties.map { ($0.name, $0.schema) }),
                    "required": .array(properties.filter(\.required).map { .string($0.name) }),
                    "additionalProperties": false]
        case .array(let item, let maxCount):
            var members: [(String, JSONValue)] = [("type", "array"), ("items", item.schema)]
            if let maxCount { members.append(("maxItems", .int(maxCount))) }
            return .object(members)
        case .enumeration(let options): return ["type": "string", "enum": .array(options.map { .string($0) })]
        case .oneOf(let types): return ["oneOf": .array(types.map(\.schema))]
        case .nullable(let type): return ["oneOf": [type.schema, ["type": "null"]]]
        case .any: return [:]
        }
    }
}

extension JSONNumber {
    /// The exact text of a 128-bit integer (bounds in schemas).
    init(integerText value: Int128) {
        if let v = Int64(exactly: value) { self.init(v) } else if let v = UInt64(exactly: value) { self.init(v) } else {
            self.init(Double(value))
        }
    }
}
