import LoraJSON

/// A JSON-RPC request id: a string, a number (echoed with its exact text) or null.
public enum RPCID: Sendable, Equatable, CustomStringConvertible {
    /// A string id.
    case string(String)
    /// A number id, kept as sent.
    case number(JSONNumber)
    /// `null` (also the id of replies to requests whose id could not be read).
    case null

    /// The id of `value`, or nil when the value cannot be an id (booleans, arrays, objects).
    public init?(_ value: JSONValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .number(let n): self = .number(n)
        case .null: self = .null
        default: return nil
        }
    }

    /// An integer id.
    public init(_ value: Int) { self = .number(JSONNumber(value)) }

    /// The id as JSON.
    public var json: JSONValue {
        switch self {
        case .string(let s): return .string(s)
        case .number(let n): return .number(n)
        case .null: return .null
        }
    }

    /// The id's JSON text.
    public var description: String { json.serializedString }
}
