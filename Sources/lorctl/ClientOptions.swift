import ArgumentParser
import Foundation
import LoraRPC

/// The options every command that talks to lorad takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's socket.", valueName: "path"))
    var socket: String?

    @Flag(name: .long, help: "Print the raw JSON result, for scripts.")
    var json = false

    /// The socket to use (see `lorctl --help` for the order).
    var socketPath: String { resolvedSocket.path }

    /// The socket to use and where that choice came from (for the message when nothing answers there).
    var resolvedSocket: (path: String, source: String) {
        if let socket { return (socket, "--socket") }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["LORAD_SOCKET"], !path.isEmpty { return (path, "LORAD_SOCKET") }
        let system = "/run/lorad/lorad.sock"
        if FileManager.default.fileExists(atPath: system) { return (system, "the system default") }
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return (runtime + "/lorad/lorad.sock", "the default under XDG_RUNTIME_DIR")
        }
        return getuid() == 0 ? (system, "the system default") : ("/tmp/lorad-\(getuid())/lorad.sock", "the default for uid \(getuid())")
    }

    /// A connected client, or exit 2 with what to check.
    func connect() -> RPCClient {
        let (path, source) = resolvedSocket
        do {
            return try RPCClient(socketPath: path)
        } catch {
            var hint = " (socket from \(source); --socket or LORAD_SOCKET chooses another)"
            if case .cannotConnect(_, EACCES, _) = error {
                hint += "; under systemd the socket belongs to group lorad: `sudo usermod -aG lorad $USER`, then log in again"
            }
            LorctlFailure.unreachable("\(error)\(hint)").exit()
        }
    }
}
