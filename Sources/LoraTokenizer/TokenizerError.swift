import Foundation

/// Everything that can go wrong while loading or using a tokenizer. Each message says what is wrong and names
/// the file, the component and the key involved, so the user can fix the file.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The file could not be read.
    case unreadableFile(file: String, reason: String)
    /// The file is not valid JSON.
    case invalidJSON(file: String, reason: String)
    /// A required key is absent.
    case missingKey(file: String, component: String, key: String)
    /// A key has a value of the wrong kind or an impossible value.
    case invalidValue(file: String, component: String, key: String, reason: String)
    /// A component `type` this implementation does not know; never silently replaced by another.
    case unknownComponent(file: String, component: String, type: String)
    /// A merge names a token, or produces a token, that is not in the vocabulary.
    case mergeTokenNotInVocab(file: String, mergeIndex: Int, token: String)
    /// A token the configuration refers to (unk, BOS, EOS, a template's special token) is not in the vocabulary.
    case tokenNotInVocab(file: String, component: String, token: String)
    /// A regular expression in the file does not compile.
    case invalidRegex(file: String, component: String, pattern: String, reason: String)

    /// A human-readable explanation naming the file, component and key.
    public var description: String {
        switch self {
        case let .unreadableFile(file, reason):
            return "cannot read tokenizer file \(file): \(reason)"
        case let .invalidJSON(file, reason):
            return "\(file) is not valid JSON: \(reason)"
        case let .missingKey(file, component, key):
            return "\(file): \(component) has no \"\(key)\" (required)"
        case let .invalidValue(file, component, key, reason):
            return "\(file): \(component) has an invalid \"\(key)\": \(reason)"
        case let .unknownComponent(file, component, type):
            return "\(file): unsupported \(component) type \"\(type)\"; lorad supports only the components listed in docs/tokenizer.md"
        case let .mergeTokenNotInVocab(file, mergeIndex, token):
            return "\(file): model.merges[\(mergeIndex)] refers to token \"\(token)\" which is not in model.vocab"
        case let .tokenNotInVocab(file, component, token):
            return "\(file): \(component) refers to token \"\(token)\" which is not in the vocabulary or added_tokens"
        case let .invalidRegex(file, component, pattern, reason):
            return "\(file): \(component) has a regex that does not compile (\(pattern)): \(reason)"
        }
    }

    /// Same as `description`, for Foundation's error reporting.
    public var errorDescription: String? { description }
}
