import Dispatch
import Glibc
import Testing
@testable import LoraRPC

/// `UnixSocketServer.probe`: answered on the server's queue, after the work queued before it.
struct ServerProbeTests {
    @Test func probeIsAnsweredOnTheServerQueue() throws {
        let test = try TestServer()
        let answered = DispatchSemaphore(value: 0)
        let server = test.server
        test.server.queue.async { usleep(100_000) }
        test.server.probe {
            dispatchPrecondition(condition: .onQueue(server.queue))
            answered.signal()
        }
        #expect(answered.wait(timeout: .now() + 0.05) == .timedOut, "the probe waits for the queue's earlier work")
        #expect(answered.wait(timeout: .now() + 5) == .success)
    }
}
