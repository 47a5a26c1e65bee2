import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// lorctl running in the background; its stdout is collected as it comes, so a test can see text stream in.
final class LorctlBackgroundRun: @unchecked Sendable {
    let process: Process
    /// What lorctl wrote to stdout so far.
    let output = LorctlShared(Data())
    private let readerDone = DispatchSemaphore(value: 0)

    init(_ arguments: [String]) throws {
        process = LorctlRunner.process(arguments)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = out.fileHandleForReading
        Thread { [output, readerDone] in
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                output.update { $0.append(chunk) }
            }
            readerDone.signal()
        }.start()
    }

    /// stdout so far, as text.
    var text: String { String(decoding: output.value, as: UTF8.self) }

    /// Waits until stdout holds at least `bytes` bytes (or `timeout` passes); returns whether it does.
    func waitForOutput(bytes: Int = 1, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while output.value.count < bytes, Date() < deadline { usleep(10_000) }
        return output.value.count >= bytes
    }

    /// Waits for lorctl to exit and its output to be read; returns its status.
    @discardableResult
    func wait() -> Int32 {
        process.waitUntilExit()
        readerDone.wait()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
