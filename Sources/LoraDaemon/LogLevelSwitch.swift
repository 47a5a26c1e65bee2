import Logging
import Synchronization

/// The daemon's log level, shared by every logger it made, so that `reload` can change it live.
public final class LogLevelSwitch: Sendable {
    /// The one switch of this process.
    public static let shared = LogLevelSwitch()
    private let current = Mutex<Logger.Level>(.info)

    public var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
