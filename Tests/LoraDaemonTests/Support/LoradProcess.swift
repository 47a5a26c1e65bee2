import Foundation
import LoraJSON
#if canImport(Glibc)
import Glibc
#endif

/// A real `lorad` process on a temporary socket and state directory: the way these tests see the daemon.
/// Paths stay short because a Unix socket path is limited to 107 bytes.
final class LoradProcess: @unchecked Sendable {
    /// The build products directory, where the test bundle and the `lorad` and `lorctl` executables live.
    static let products: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("lorad").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()

    static var loradBinary: URL { products.appendingPathComponent("lorad") }
    static var lorctlBinary: URL { products.appendingPathComponent("lorctl") }

    let root: URL
    var socketPath: String { root.appendingPathComponent("lorad.sock").path }
    var stateDirectory: URL { root.appendingPathComponent("state") }
    var configPath: URL { root.appendingPathComponent("lorad.toml") }
    var stderrPath: URL { root.appendingPathComponent("stderr.log") }
    private(set) var process: Process?
    private var extraArguments: [String] = []
    /// Variables added to lorad's environment (NOTIFY_SOCKET, WATCHDOG_USEC, LORAD_TEST_HOOKS, ...).
    var environment: [String: String] = [:]
    /// A command lorad is started through (e.g. `systemd-socket-activate -l PATH --`), before lorad's own argv.
    var launcher: [String] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A daemon to be started with `start`; `config` is written as its configuration file; `model` nil serves
    /// the embedded demo.
    init(model: URL? = nil, config: String = "", arguments: [String] = []) throws {
        let template = "/tmp/lorad-test-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw Failure(description: "mkdtemp failed: errno \(errno)") }
        root = URL(fileURLWithPath: String(cString: made))
        // Another uid (the non-admin test) must reach the socket inside.
        chmod(root.path, 0o755)
        try config.write(to: configPath, atomically: true, encoding: .utf8)
        var args = ["serve", "--config", configPath.path, "--state-dir", stateDirectory.path, "--socket", socketPath]
        if let model { args += ["--model", model.path] }
        extraArguments = args + arguments
    }

    deinit {
        stop(signal: SIGKILL)
        try? FileManager.default.removeItem(at: root)
    }

    /// Starts lorad (through `launcher`, if any) without waiting for it to serve.
    @discardableResult
    func launch() throws -> Process {
        let process = Process()
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = Array(launcher.dropFirst()) + [Self.loradBinary.path] + extraArguments
        } else {
            process.executableURL = Self.loradBinary
            process.arguments = extraArguments
        }
        FileManager.default.createFile(atPath: stderrPath.path, contents: nil)
        let log = try FileHandle(forWritingTo: stderrPath)
        try log.seekToEnd()
        process.standardError = log
        process.standardOutput = log
        var environment = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] {
            environment.removeValue(forKey: key)
        }
        environment.merge(self.environment) { $1 }
        process.environment = environment
        try process.run()
        self.process = process
        return process
    }

    /// Waits up to `timeout` seconds for lorad to exit; its exit status, or nil if it still runs.
    func waitForExit(timeout: Double = 30) -> Int32? {
        guard let process else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Starts lorad and waits until its socket answers `status`.
    func start(timeout: Double = 60) throws {
        let process = try launch()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw Failure(description: "lorad exited with \(process.terminationStatus) before serving:\n\(stderr)")
            }
            if let connection = try? RawConnection(path: socketPath) {
                connection.write(#"{"jsonrpc":"2.0","id":0,"method":"status"}"# + "\n")
                if let line = connection.readLine(timeout: 5), line.contains("\"result\"") { return }
            }
            usleep(20_000)
        }
        throw Failure(description: "lorad did not answer on \(socketPath) within \(timeout) s:\n\(stderr)")
    }

    /// Sends `signal` and waits for the process to exit; returns its exit status (nil if it was not running).
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: Double = 30) -> Int32? {
        guard let process, process.isRunning else { return self.process?.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// What lorad wrote to stderr so far.
    var stderr: String { (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? "" }

    /// The daemon's resident set size in KiB, from /proc.
    var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// Connects a raw client.
    func connect() throws -> RawConnection { try RawConnection(path: socketPath) }

    /// One request on a fresh connection; the parsed reply line.
    func request(_ method: String, _ params: JSONValue? = nil, id: Int = 1) throws -> JSONValue {
        let connection = try connect()
        return try connection.call(method, params, id: id)
    }

    /// Runs `lorctl` with `arguments` against this daemon, optionally under another uid (through `setpriv`).
    func lorctl(_ arguments: [String], asUID uid: UInt32? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        var argv = [Self.lorctlBinary.path, "--socket", socketPath] + arguments
        if let uid {
            argv = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--"] + argv
        }
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

extension RawConnection {
    /// Sends one request and returns the first non-notification reply, parsed.
    func call(_ method: String, _ params: JSONValue? = nil, id: Int = 1, timeout: Double = 60) throws -> JSONValue {
        var members: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("id", .int(id)), ("method", .string(method))]
        if let params { members.append(("params", params)) }
        write(JSONValue.object(members).serializedString + "\n")
        while let line = readLine(timeout: timeout) {
            let reply = try JSONValue.parse(line)
            if reply["method"] == nil { return reply }
        }
        throw Failure(description: "no reply to \(method)")
    }
}

extension JSONValue {
    /// `result`, or a thrown error carrying the reply's error.
    func result() throws -> JSONValue {
        if let result = self["result"] { return result }
        throw RawConnection.Failure(description: "error reply: \(serializedString)")
    }

    /// The error's `data.name`, if this is an error reply.
    var errorName: String? { self["error"]?["data"]?["name"]?.stringValue }
    /// The error's code, if this is an error reply.
    var errorCode: Int? { self["error"]?["code"]?.numberValue?.int }
}
