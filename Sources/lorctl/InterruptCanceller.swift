import Dispatch
import Foundation
import LoraJSON
import LoraRPC

/// Turns Ctrl-C during `generate` into a `cancel` of the job, sent on a second connection, so the stream ends
/// with `generate.done` (finishReason `cancelled`) and the text so far is complete. A second Ctrl-C, or a cancel
/// that cannot be sent, exits 130 at once; closing the connection then cancels the job in lorad.
final class InterruptCanceller: @unchecked Sendable {
    private let socketPath: String
    private let lock = NSLock()
    private var jobID: UInt64?
    private var interrupts = 0
    private var cancelSent = false
    private var source: DispatchSourceSignal?

    /// A canceller for jobs on the daemon at `socketPath`.
    init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// True once Ctrl-C (SIGINT) was received.
    var wasInterrupted: Bool { lock.withLock { interrupts > 0 } }

    /// Takes over SIGINT.
    func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in interrupted() }
        source.resume()
        self.source = source
    }

    /// The job to cancel; if Ctrl-C came before its id was known, it is cancelled now.
    func jobStarted(_ id: UInt64) {
        lock.withLock { jobID = id }
        if wasInterrupted { sendCancel() }
    }

    private func interrupted() {
        let count = lock.withLock { interrupts += 1; return interrupts }
        if count > 1 { Foundation.exit(130) }
        sendCancel()
    }

    private func sendCancel() {
        let id: UInt64? = lock.withLock {
            guard let jobID, !cancelSent else { return nil }
            cancelSent = true
            return jobID
        }
        guard let id else { return }
        do {
            let connection = try RPCClient(socketPath: socketPath)
            _ = try connection.call("cancel", params: ["jobId": .uint64(id)], timeout: .seconds(5))
        } catch RPCClientError.remote {
            // JobNotFound: it finished meanwhile; its done event is on the way.
        } catch {
            Foundation.exit(130)
        }
    }
}
