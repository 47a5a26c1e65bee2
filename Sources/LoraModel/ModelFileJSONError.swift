import LoraJSON

/// Why a model file's JSON was refused: not (strict) JSON, or a key repeated within one object.
enum ModelFileJSONError: Error, CustomStringConvertible {
    /// The parser's error.
    case syntax(JSONParseError)
    /// This key appears twice in one object.
    case repeatedKey(String)

    var description: String {
        switch self {
        case .syntax(let e): return e.description
        case .repeatedKey(let key): return "key \(JSONValue.string(key).serializedString) appears twice in one object; keep one"
        }
    }
}
