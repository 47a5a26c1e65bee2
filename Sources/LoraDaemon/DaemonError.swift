import LoraEngine
import LoraJSON

/// An application error a method returns: a stable code outside JSON-RPC's reserved range, a stable name
/// (sent as `data.name`), a message that says what to do, and details for programs (the rest of `data`).
/// docs/api.md lists every one.
struct DaemonError: Error, Sendable, CustomStringConvertible {
    /// The application errors, with their codes.
    enum Kind: Int, Sendable, CaseIterable {
        case adapterNotFound = 1001
        case adapterInvalid = 1002
        case adapterIncompatible = 1003
        case adapterExists = 1004
        case adapterActive = 1005
        case adapterBroken = 1006
        case drainTimeout = 1010
        case commitFailed = 1011
        case jobNotFound = 1020
        case busy = 1021
        case promptTooLong = 1022
        case permissionDenied = 1030
        case pathNotAllowed = 1031
        case shuttingDown = 1040

        /// The name sent as `data.name`.
        var name: String {
            switch self {
            case .adapterNotFound: return "AdapterNotFound"
            case .adapterInvalid: return "AdapterInvalid"
            case .adapterIncompatible: return "AdapterIncompatible"
            case .adapterExists: return "AdapterExists"
            case .adapterActive: return "AdapterActive"
            case .adapterBroken: return "AdapterBroken"
            case .drainTimeout: return "DrainTimeout"
            case .commitFailed: return "CommitFailed"
            case .jobNotFound: return "JobNotFound"
            case .busy: return "Busy"
            case .promptTooLong: return "PromptTooLong"
            case .permissionDenied: return "PermissionDenied"
            case .pathNotAllowed: return "PathNotAllowed"
            case .shuttingDown: return "ShuttingDown"
            }
        }
    }

    var kind: Kind
    var message: String
    /// Extra members of `data` besides `name`.
    var details: [(String, JSONValue)] = []

    init(_ kind: Kind, _ message: String, details: [(String, JSONValue)] = []) {
        self.kind = kind
        self.message = message
        self.details = details
    }

    var description: String { "\(kind.name): \(message)" }

    /// `data`: the name first, then the details.
    var data: JSONValue { .object([("name", .string(kind.name))] + details) }
}
