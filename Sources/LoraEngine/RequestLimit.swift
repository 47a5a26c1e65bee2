/// A request size limit of `EngineConfiguration`, named by its field; `EngineError.requestTooLarge` says which
/// one a request passed.
public enum RequestLimit: String, Sendable, Equatable, CaseIterable {
    /// UTF-8 bytes of a text prompt.
    case maxPromptBytes
    /// Stop strings per request.
    case maxStopStrings
    /// UTF-8 bytes of one stop string.
    case maxStopStringBytes
    /// Stop token ids per request.
    case maxStopTokenIds

    /// What was counted, for messages.
    func counted(_ size: Int) -> String {
        switch self {
        case .maxPromptBytes: return "the text prompt has \(size) bytes"
        case .maxStopStrings: return "the request gives \(size) stop strings"
        case .maxStopStringBytes: return "a stop string has \(size) bytes"
        case .maxStopTokenIds: return "the request gives \(size) stop token ids"
        }
    }

    /// How to get under the limit, for messages.
    var remedy: String {
        switch self {
        case .maxPromptBytes: return "shorten the prompt (or give token ids)"
        case .maxStopStrings: return "give fewer stop strings"
        case .maxStopStringBytes: return "shorten the stop string"
        case .maxStopTokenIds: return "give fewer stop token ids"
        }
    }
}
