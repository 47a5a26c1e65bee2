import Foundation
import LoraJSON
#if canImport(Glibc)
import Glibc
#endif

/// What one `lorctl` run printed and how it ended.
struct LorctlRun {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout parsed as JSON (for `--json` runs).
    func json() throws -> JSONValue { try JSONValue.parse(stdout) }
}

/// Runs the built `lorctl` the ways the tests need beyond `LoradProcess.lorctl`: with standard input, a
/// controlled environment (no inherited `LORAD_SOCKET`, a fixed width for help), a working directory, in the
/// background, or on a pseudo-terminal (through `script`) to see what a person at a terminal sees.
enum LorctlRunner {
    /// The repository's root (for `share/demo` and the snapshots).
    static var repositoryRoot: URL { ConfigurationTests.packageRoot }
    /// The demo adapters shipped in the source tree, importable with `adapters add`.
    static func demoAdapter(_ name: String) -> URL { repositoryRoot.appendingPathComponent("share/demo/adapters/\(name)") }

    /// The environment every run gets: the inherited one without lorctl's own variables, 100 columns.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LORAD_SOCKET")
        environment["COLUMNS"] = "100"
        environment.merge(extra) { $1 }
        return environment
    }

    /// A configured, not yet started process running lorctl with `arguments`.
    static func process(_ arguments: [String], environment extra: [String: String] = [:], directory: URL? = nil) -> Process {
        let process = Process()
        process.executableURL = LoradProcess.lorctlBinary
        process.arguments = arguments
        process.environment = environment(extra)
        if let directory { process.currentDirectoryURL = directory }
        return process
    }

    /// Runs lorctl to its end; `stdin` nil gives it /dev/null.
    static func run(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:], directory: URL? = nil) throws -> LorctlRun {
        let process = process(arguments, environment: extra, directory: directory)
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        // Both pipes are drained at once, so a full one can never block the child.
        let errData = LorctlShared(Data())
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errData.set(err.fileHandleForReading.readDataToEndOfFile())
            drained.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        return LorctlRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: errData.value, as: UTF8.self))
    }

    /// True when `script` (util-linux) can give lorctl a pseudo-terminal.
    static var canUseTerminal: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/script") }

    /// Runs lorctl on a pseudo-terminal: stdout and stderr both are the terminal, and the result's `stdout`
    /// holds everything it drew there, control characters included.
    static func runOnTerminal(_ arguments: [String], environment extra: [String: String] = [:]) throws -> LorctlRun {
        let command = ([LoradProcess.lorctlBinary.path] + arguments).map(shellQuoted).joined(separator: " ")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        // -e: script exits with lorctl's status; -q: no banner; the transcript file is thrown away.
        process.arguments = ["-qec", command, "/dev/null"]
        process.environment = environment(extra)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return LorctlRun(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: "")
    }

    static func shellQuoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

extension LoradProcess {
    /// Runs lorctl against this daemon (`--socket` first, as a person would type it) with the runner's options.
    func runLorctl(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], directory: URL? = nil) throws -> LorctlRun {
        try LorctlRunner.run(["--socket", socketPath] + arguments, stdin: stdin, environment: environment, directory: directory)
    }

    /// Runs lorctl against this daemon on a pseudo-terminal.
    func lorctlOnTerminal(_ arguments: [String]) throws -> LorctlRun {
        try LorctlRunner.runOnTerminal(["--socket", socketPath] + arguments)
    }

    /// Starts lorctl against this daemon in the background.
    func startLorctl(_ arguments: [String]) throws -> LorctlBackgroundRun {
        try LorctlBackgroundRun(["--socket", socketPath] + arguments)
    }

    /// Waits until `listJobs` shows `count` running jobs (or `timeout` passes); returns whether it did.
    func waitForRunningJobs(_ count: Int, timeout: Double = 30) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let jobs = try request("listJobs").result()["jobs"]?.arrayValue ?? []
            if jobs.filter({ $0["state"] == "running" }).count >= count { return true }
            usleep(20_000)
        }
        return false
    }
}
