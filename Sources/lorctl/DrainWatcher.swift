import Foundation
import LoraJSON
import LoraRPC

/// Polls `status` on its own connection while a `setLoras` call waits, and shows on the progress line how many
/// running jobs it waits for and for how long. It stays silent for the first 200 ms (a quick call shows nothing)
/// and when nothing is pending.
final class DrainWatcher: @unchecked Sendable {
    private let socketPath: String
    private let progress: ProgressLine
    private let stopped = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// A watcher that draws on `progress`, connecting to `socketPath` when started.
    init(socketPath: String, progress: ProgressLine) {
        self.socketPath = socketPath
        self.progress = progress
    }

    /// Starts polling on a background thread.
    func start() {
        let thread = Thread { [self] in
            poll()
            finished.signal()
        }
        thread.start()
    }

    /// Stops polling and waits for the thread, so nothing is drawn after this returns.
    func stop() {
        stopped.signal()
        finished.wait()
    }

    private func poll() {
        let started = DispatchTime.now()
        // Nothing for a call that is over at once.
        if stopped.wait(timeout: .now() + .milliseconds(200)) == .success { return }
        guard let connection = try? RPCClient(socketPath: socketPath) else { return }
        var first: Int?
        repeat {
            guard let status = try? connection.call("status", timeout: .seconds(2)), let engine = status["engine"] else { return }
            let running = engine["runningJobs"]?.intOrZero ?? 0
            if (engine["pendingSetLoras"]?.intOrZero ?? 0) > 0 {
                if first == nil { first = running }
                let waited = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                let done = max(0, (first ?? running) - running)
                let finishedText = done > 0 ? ", \(done) finished" : ""
                progress.update("waiting for \(Format.plural(running, "running job")) to finish\(finishedText) (\(Format.duration(seconds: waited)))")
            }
        } while stopped.wait(timeout: .now() + .milliseconds(200)) == .timedOut
    }
}
