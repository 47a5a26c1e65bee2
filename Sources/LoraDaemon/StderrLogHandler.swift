import Foundation
import Logging
import Synchronization

/// One line per event on standard error: `time level label: message key=value ...`. Its level is the
/// process's `LogLevelSwitch`, so `reload` changes it for every component at once.
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    private let label: String
    /// Lines are written whole, one at a time, whichever thread logs.
    private static let lock = Mutex<Void>(())

    public init(label: String) { self.label = label }

    public var logLevel: Logger.Level {
        get { LogLevelSwitch.shared.level }
        set { LogLevelSwitch.shared.level = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        var fields = metadata
        if let extra { fields.merge(extra) { $1 } }
        var text = "\(Self.timestamp()) \(level) \(label): \(message)"
        for key in fields.keys.sorted() { text += " \(key)=\(fields[key].map { "\($0)" } ?? "")" }
        text += "\n"
        Self.lock.withLock { _ in FileHandle.standardError.write(Data(text.utf8)) }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var tm = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), Int(now.tv_nsec / 1_000_000))
    }
}
