import Glibc

/// Why an `RPCClient` call failed.
public enum RPCClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket could not be reached; the message says what to check.
    case cannotConnect(path: String, errno: Int32, reason: String)
    /// The server answered with a JSON-RPC error.
    case remote(RPCError)
    /// No reply within the timeout.
    case timeout(method: String?, seconds: Double)
    /// The server closed the connection (before replying, when waiting for a reply).
    case closed
    /// The server sent something that is not a JSON-RPC reply.
    case invalidResponse(String)
    /// A socket call failed.
    case system(call: String, errno: Int32, reason: String)

    /// What went wrong and what to do.
    public var description: String {
        switch self {
        case .cannotConnect(let path, let code, let reason):
            switch code {
            case ENOENT:
                return "no socket at \(path) (\(reason)); is lorad running, and is this the socket it was configured with (--socket)?"
            case ECONNREFUSED:
                return "\(path) exists but nothing accepts connections on it (\(reason)); lorad is not running (a stale socket from a stopped daemon?): start it"
            case EACCES:
                return "permission denied on \(path) (\(reason)); the socket is mode 0660: run as the daemon's user or join its group"
            default:
                return "cannot connect to \(path): \(reason); check the socket path and that lorad is running"
            }
        case .remote(let error):
            if let name = error.name { return "\(name): \(error.message) (code \(error.code))" }
            return error.description
        case .timeout(let method, let seconds):
            return "no reply\(method.map { " to \($0)" } ?? "") within \(seconds) s; the daemon may be busy, retry with a longer timeout"
        case .closed:
            return "the server closed the connection; check the daemon's log"
        case .invalidResponse(let what):
            return "the server sent something that is not a JSON-RPC reply (\(what)); is this a lorad socket?"
        case .system(let call, _, let reason):
            return "\(call) failed: \(reason)"
        }
    }
}
