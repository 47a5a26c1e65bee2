import Foundation
import Logging
import LoraEngine
import LoraModel

/// Everything `lorad serve` can be told: from embedded defaults, then the configuration file, then the
/// environment, then flags (each overrides the one before). See systemd/lorad.toml for the commented file.
public struct DaemonConfiguration: Sendable, Equatable {
    /// The checkpoint directory; nil serves the embedded demo (stories260K with its dragon and snow adapters).
    public var modelPath: String?
    /// How 16-bit checkpoints are kept in memory.
    public var weightPrecision: WeightPrecision = .asStored
    /// The Unix socket lorad listens on.
    public var socketPath: String
    /// Under socket activation, the name (`FileDescriptorName=` in the socket unit) of the inherited
    /// descriptor to listen on; a single unnamed descriptor is taken whatever this says.
    public var fdName = "lorad"
    /// Permission bits of the socket file it creates.
    public var socketMode: UInt32 = 0o660
    /// Where the adapter registry lives.
    public var stateDirectory: String
    /// The longest JSON-RPC line accepted, in bytes.
    public var maxMessageBytes = 16 << 20
    /// Connections served at once; one more gets an error line and is closed.
    public var maxConnections = 256
    /// Bytes of replies and notifications a connection may have waiting; a client that lets more pile up
    /// (it stopped reading) is disconnected and its jobs cancelled.
    public var maxQueuedBytesPerConnection = 8 << 20
    /// The engine's limits and LoRA mode.
    public var engine = EngineConfiguration()
    /// Users (names or uids) who may call the mutating methods, besides root and lorad's own uid.
    public var adminUsers: [String] = []
    /// Groups (names or gids) whose members may call the mutating methods.
    public var adminGroups: [String] = []
    /// Directories `addAdapter` may import from; empty allows any path the daemon can read.
    public var importRoots: [String] = []
    /// `setLoras` timeout when a call gives none, in milliseconds; nil waits for ever.
    public var defaultSetLorasTimeoutMs: Int? = 60_000
    /// On SIGTERM, how long running jobs may go on before they are cancelled.
    public var shutdownGraceSeconds: Double = 30
    /// The least severe level logged.
    public var logLevel: Logger.Level = .info
    /// The configuration file this was read from, if any (for `reload`).
    public var configFile: String?

    /// The embedded defaults for this process's environment (see `DefaultPaths`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = DefaultPaths.socket(environment: environment)
        stateDirectory = DefaultPaths.stateDirectory(environment: environment)
    }

    /// Whether lorad serves the embedded demo model.
    public var servesDemo: Bool { modelPath == nil }

    /// Throws `ConfigurationError.invalid` naming the first setting out of range.
    public func validate() throws {
        func fail(_ key: String, _ message: String) -> ConfigurationError { .invalid(key: key, message: message) }
        if let modelPath, modelPath.isEmpty { throw fail("model.path", "must not be empty (leave it out to serve the demo)") }
        guard !socketPath.isEmpty else { throw fail("server.socket", "must not be empty") }
        // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
        guard socketPath.utf8.count < 108 else { throw fail("server.socket", "is \(socketPath.utf8.count) bytes; a Unix socket path must be shorter than 108 bytes") }
        guard !fdName.isEmpty, fdName.utf8.count <= 255, !fdName.contains(":") else {
            throw fail("server.fd_name", "must be 1 to 255 characters without ':' (it is matched against FileDescriptorName=)")
        }
        guard socketMode <= 0o777 else { throw fail("server.socket_mode", "must be an octal permission like \"0660\"") }
        guard !stateDirectory.isEmpty else { throw fail("state.directory", "must not be empty") }
        // Upper bounds too: each connection may hold a line of that size, and the framer adds to it.
        guard (1024...(1 << 30)).contains(maxMessageBytes) else {
            throw fail("server.max_message_bytes", "must be between 1024 and 1073741824 (1 GiB), got \(maxMessageBytes)")
        }
        guard (1...65536).contains(maxConnections) else { throw fail("server.max_connections", "must be between 1 and 65536, got \(maxConnections)") }
        guard ((64 << 10)...(1 << 30)).contains(maxQueuedBytesPerConnection) else {
            throw fail("server.max_queued_bytes_per_connection", "must be between 65536 and 1073741824 (1 GiB), got \(maxQueuedBytesPerConnection)")
        }
        if let t = defaultSetLorasTimeoutMs, t < 0 { throw fail("loras.default_timeout_ms", "must be 0 or more, got \(t)") }
        guard shutdownGraceSeconds.isFinite, shutdownGraceSeconds >= 0 else {
            throw fail("shutdown.grace_seconds", "must be 0 or more, got \(shutdownGraceSeconds)")
        }
        do { try engine.validate() } catch { throw ConfigurationError.invalid(key: "engine", message: "\(error)") }
    }
}

/// Where lorad keeps its state and socket when the configuration does not say.
public enum DefaultPaths {
    /// `$STATE_DIRECTORY` (set by systemd's StateDirectory=), else `$XDG_STATE_HOME/lorad`, else
    /// `~/.local/state/lorad`.
    public static func stateDirectory(environment: [String: String]) -> String {
        if let dir = firstPath(environment["STATE_DIRECTORY"]) { return dir }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/lorad" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/state/lorad"
    }

    /// `$RUNTIME_DIRECTORY/lorad.sock` (systemd's RuntimeDirectory=), else `$XDG_RUNTIME_DIR/lorad/lorad.sock`,
    /// else `/run/lorad/lorad.sock` for root and `/tmp/lorad-UID/lorad.sock` for anyone else. lorctl uses the
    /// same rule.
    public static func socket(environment: [String: String]) -> String {
        if let dir = firstPath(environment["RUNTIME_DIRECTORY"]) { return dir + "/lorad.sock" }
        if let xdg = environment["XDG_RUNTIME_DIR"], xdg.hasPrefix("/") { return xdg + "/lorad/lorad.sock" }
        let uid = getuid()
        return uid == 0 ? "/run/lorad/lorad.sock" : "/tmp/lorad-\(uid)/lorad.sock"
    }

    /// systemd passes several directories separated by colons; lorad uses the first.
    private static func firstPath(_ value: String?) -> String? {
        guard let value, let first = value.split(separator: ":").first, first.hasPrefix("/") else { return nil }
        return String(first)
    }
}
