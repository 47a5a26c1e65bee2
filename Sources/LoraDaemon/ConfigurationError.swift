/// A configuration that cannot be used; lorad exits with `ExitCode.configuration` (78, EX_CONFIG) so that
/// systemd's `RestartPreventExitStatus=78` does not restart it in a loop.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file cannot be read.
    case unreadable(path: String, reason: String)
    /// The file is not valid TOML.
    case syntax(path: String, line: Int, column: Int, message: String)
    /// A key the configuration does not have (a typo, or a setting of another version).
    case unknownKey(String)
    /// A value of the wrong type or out of range.
    case invalid(key: String, message: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "cannot read the configuration file \(path): \(reason)"
        case let .syntax(path, line, column, message):
            return "\(path):\(line):\(column): not valid TOML: \(message)"
        case let .unknownKey(key):
            return "unknown configuration key '\(key)'; see systemd/lorad.toml (installed as lorad.toml.example) for the keys lorad reads"
        case let .invalid(key, message):
            return "configuration '\(key)' \(message)"
        }
    }
}
