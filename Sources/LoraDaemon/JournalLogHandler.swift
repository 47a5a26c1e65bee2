import CSystemd
import Foundation
import Logging

/// Logs to the systemd journal (`sd_journal_sendv`) with structured fields: `MESSAGE`, `PRIORITY`,
/// `SYSLOG_IDENTIFIER=lorad`, `JOB_ID`, `ADAPTER`, `EPOCH` and `PEER_UID` from the metadata keys `job_id`,
/// `adapter`, `epoch` and `peer_uid`, every other metadata key as `LORAD_<KEY>`, and the code location. Chosen
/// when stderr is the journal (`JournalLogHandler.stderrIsJournal`); its level is the process's `LogLevelSwitch`.
public struct JournalLogHandler: LogHandler {
    /// Handler metadata (merged under each call's own).
    public var metadata: Logger.Metadata = [:]
    private let label: String
    /// The `SYSLOG_IDENTIFIER`.
    private let identifier: String

    /// A handler for the logger `label`.
    public init(label: String, identifier: String = "lorad") {
        self.label = label
        self.identifier = identifier
    }

    /// Whether `$JOURNAL_STREAM` ("device:inode", set by systemd when it connects stdout/stderr to the journal)
    /// names the file standard error is (`fd`): then the journal API is used instead of plain lines.
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment, fd: Int32 = 2) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// The level of every logger of this process.
    public var logLevel: Logger.Level {
        get { LogLevelSwitch.shared.level }
        set { LogLevelSwitch.shared.level = newValue }
    }

    /// One metadata value.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Sends one entry; when the journal cannot be reached, writes the usual line to stderr instead.
    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String, file: String,
                    function: String, line: UInt) {
        var fields = metadata
        if let extra { fields.merge(extra) { $1 } }
        let entry = Self.fields(level: level, message: "\(message)", metadata: fields, label: label, identifier: identifier,
                                file: file, function: function, line: line)
        if Self.send(entry) < 0 {
            let text = "\(level) \(label): \(message)" + fields.keys.sorted().map { " \($0)=\(fields[$0].map { "\($0)" } ?? "")" }.joined() + "\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    /// The journal fields of one entry, `NAME=value` each. `MESSAGE` also carries the metadata as `key=value`,
    /// so that `journalctl` without `-o verbose` shows everything the stderr line would.
    public static func fields(level: Logger.Level, message: String, metadata: Logger.Metadata, label: String, identifier: String = "lorad",
                              file: String = #fileID, function: String = #function, line: UInt = #line) -> [String] {
        let keys = metadata.keys.sorted()
        var text = message
        for key in keys { text += " \(key)=\(metadata[key].map { "\($0)" } ?? "")" }
        var out = ["MESSAGE=\(text)", "PRIORITY=\(priority(level))", "SYSLOG_IDENTIFIER=\(identifier)", "LORAD_LOGGER=\(label)",
                   "CODE_FILE=\(file)", "CODE_LINE=\(line)", "CODE_FUNC=\(function)"]
        for key in keys {
            guard let value = metadata[key] else { continue }
            out.append("\(fieldName(key))=\(value)")
        }
        return out
    }

    /// syslog priorities: trace and debug 7, info 6, notice 5, warning 4, error 3, critical 2.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// The journal field for a metadata key: the four documented ones by name, the rest as `LORAD_` and the key in
    /// upper case with `_` for anything else (a journal field name is `[A-Z0-9_]`, not starting with `_`).
    static func fieldName(_ key: String) -> String {
        switch key {
        case "job_id": return "JOB_ID"
        case "adapter": return "ADAPTER"
        case "epoch": return "EPOCH"
        case "peer_uid": return "PEER_UID"
        default:
            var name = "LORAD_"
            var previousLower = false
            for scalar in key.unicodeScalars {
                let isUpper = ("A"..."Z").contains(scalar)
                if isUpper && previousLower { name += "_" }
                if isUpper || ("0"..."9").contains(scalar) {
                    name.unicodeScalars.append(scalar)
                } else if ("a"..."z").contains(scalar) {
                    name += String(scalar).uppercased()
                } else {
                    name += "_"
                }
                previousLower = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
            }
            return name
        }
    }

    /// `sd_journal_sendv` with `fields`; its result (negative errno on failure).
    static func send(_ fields: [String]) -> Int32 {
        // One buffer holds every field; the iovecs point into it while it is pinned.
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            ranges.append(start..<bytes.count)
        }
        return bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return -EINVAL }
            let vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            return sd_journal_sendv(vectors, Int32(vectors.count))
        }
    }
}
