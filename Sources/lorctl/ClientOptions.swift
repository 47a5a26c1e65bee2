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
    var socketPath: String {
        if let socket { return socket }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["LORAD_SOCKET"], !path.isEmpty { return path }
        let system = "/run/lorad/lorad.sock"
        if FileManager.default.fileExists(atPath: system) { return system }
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") { return runtime + "/lorad/lorad.sock" }
        return getuid() == 0 ? system : "/tmp/lorad-\(getuid())/lorad.sock"
    }

    /// A connected client, or exit 2 with what to check.
    func connect() -> RPCClient {
        do {
            return try RPCClient(socketPath: socketPath)
        } catch {
            LorctlFailure.unreachable("\(error)").exit()
        }
    }
}
