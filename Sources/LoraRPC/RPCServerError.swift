/// Why a `UnixSocketServer` could not start.
public enum RPCServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket path does not fit in `sockaddr_un`.
    case pathTooLong(String)
    /// A live server already answers on the path.
    case alreadyListening(String)
    /// The path exists and is not a socket.
    case notASocket(String)
    /// A descriptor handed to `adopt(listeningDescriptor:)` is not a listening Unix stream socket.
    case notAListeningSocket(descriptor: Int32, reason: String)
    /// The server already has a listening socket.
    case alreadyStarted
    /// A system call failed.
    case system(call: String, path: String, errno: Int32, reason: String)

    /// What went wrong and what to do.
    public var description: String {
        switch self {
        case .pathTooLong(let path):
            return "the socket path \(path) is longer than 107 bytes; choose a shorter path"
        case .alreadyListening(let path):
            return "another server is listening on \(path); stop it (is another lorad running?) or choose another socket path"
        case .notASocket(let path):
            return "\(path) exists and is not a socket; remove it or choose another socket path"
        case .notAListeningSocket(let fd, let reason):
            return "descriptor \(fd) is not a listening Unix stream socket (\(reason)); check the socket unit (ListenStream= with a path) or drop the inherited descriptor"
        case .alreadyStarted:
            return "the server already has a listening socket; call listen or adopt once"
        case .system(let call, let path, _, let reason):
            return "\(call) on \(path) failed: \(reason); check that the directory exists and is writable"
        }
    }
}
