import ArgumentParser
import Foundation
import LoraRPC

/// How lorctl ends when something fails: the message on stderr, and the documented exit status.
enum LorctlFailure: Error {
    /// The daemon returned an error (exit 1).
    case remote(RPCError)
    /// The daemon cannot be reached, or the connection broke (exit 2).
    case unreachable(String)
    /// The daemon answered, but what it reported is a failure for this command, e.g. `adapters show` of a name
    /// it does not list, or `adapters verify` finding a broken adapter (exit 1).
    case reported(name: String, message: String)

    /// Prints the message and exits with the status the failure means.
    func exit() -> Never {
        switch self {
        case .remote(let error):
            let name = error.name.map { "\($0): " } ?? ""
            // Some messages already start with the name; print it once.
            let message = !name.isEmpty && error.message.hasPrefix(name) ? String(error.message.dropFirst(name.count)) : error.message
            FileHandle.standardError.write(Data("lorctl: \(name)\(message) (code \(error.code))\n".utf8))
            Foundation.exit(1)
        case .reported(let name, let message):
            FileHandle.standardError.write(Data("lorctl: \(name): \(message)\n".utf8))
            Foundation.exit(1)
        case .unreachable(let message):
            FileHandle.standardError.write(Data("lorctl: \(message)\n".utf8))
            Foundation.exit(2)
        }
    }

    /// Maps a client error to the failure it means.
    static func from(_ error: RPCClientError) -> LorctlFailure {
        if case .remote(let rpc) = error { return .remote(rpc) }
        return .unreachable("\(error)")
    }
}
