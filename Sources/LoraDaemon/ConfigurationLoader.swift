import Foundation

/// Builds the configuration from its four layers, lowest first: embedded defaults, the configuration file
/// (`--config`, else `$LORAD_CONFIG`, else `$CONFIGURATION_DIRECTORY/lorad.toml` when systemd's
/// ConfigurationDirectory= sets it and the file exists), the environment (`LORAD_MODEL`, `LORAD_STATE_DIR`,
/// `LORAD_SOCKET`), then flags. Kept by the daemon so that `reload` reads the same layers again.
public struct ConfigurationLoader: Sendable, Equatable {
    /// Values given as flags; nil where the flag was not given.
    public struct Flags: Sendable, Equatable {
        public var configFile: String?
        public var modelPath: String?
        public var stateDirectory: String?
        public var socketPath: String?
        public init(configFile: String? = nil, modelPath: String? = nil, stateDirectory: String? = nil, socketPath: String? = nil) {
            self.configFile = configFile
            self.modelPath = modelPath
            self.stateDirectory = stateDirectory
            self.socketPath = socketPath
        }
    }

    public var flags: Flags
    public var environment: [String: String]

    public init(flags: Flags, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.flags = flags
        self.environment = environment
    }

    /// The configuration file to read, if any.
    public var configFile: String? {
        if let f = flags.configFile { return f }
        if let f = environment["LORAD_CONFIG"], !f.isEmpty { return f }
        if let dir = environment["CONFIGURATION_DIRECTORY"]?.split(separator: ":").first {
            let candidate = "\(dir)/lorad.toml"
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The configuration, validated. Throws `ConfigurationError`.
    public func load() throws -> DaemonConfiguration {
        var c = DaemonConfiguration(environment: environment)
        if let file = configFile { c = try ConfigurationFile.apply(path: file, to: c) }
        func env(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let v = env("LORAD_MODEL") { c.modelPath = v }
        if let v = env("LORAD_STATE_DIR") { c.stateDirectory = v }
        if let v = env("LORAD_SOCKET") { c.socketPath = v }
        if let v = flags.modelPath { c.modelPath = v }
        if let v = flags.stateDirectory { c.stateDirectory = v }
        if let v = flags.socketPath { c.socketPath = v }
        try c.validate()
        return c
    }
}
