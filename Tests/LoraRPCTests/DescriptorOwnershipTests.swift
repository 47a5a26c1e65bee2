import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing
@testable import LoraRPC

/// Every descriptor is closed once, by its owner: a second close of a number that another thread has reused
/// meanwhile closes that thread's file (a client's socket got EBADF in the transcript tests that way).
@Suite struct DescriptorOwnershipTests {
    @Test func aClientThatCannotConnectClosesItsSocketExactlyOnce() throws {
        let before = SocketSyscalls.closesOfUnopenedDescriptors.load(ordering: .relaxed)
        let missing = TestServer.freshPath()
        for _ in 0..<20 {
            #expect(throws: RPCClientError.self) { try RPCClient(socketPath: missing) }
        }
        // The counter is process-wide: any double close anywhere (a parallel test included) is a bug too.
        #expect(SocketSyscalls.closesOfUnopenedDescriptors.load(ordering: .relaxed) == before)
    }

    /// Clients that fail to connect, oversize lines, drained and stopped servers, all at once, while bystander
    /// threads keep opening pipes and check that no one closed or replaced them.
    @Test func churnNeverClosesAnUnrelatedDescriptor() throws {
        let before = SocketSyscalls.closesOfUnopenedDescriptors.load(ordering: .relaxed)
        let stop = Atomic<Bool>(false)
        let bystanderFailures = Recorder<String>()
        let churnFailures = Recorder<String>()
        let group = DispatchGroup()
        for _ in 0..<2 {
            run(in: group) { Self.bystander(until: stop, failures: bystanderFailures) }
        }
        run(in: group) {
            let missing = TestServer.freshPath()
            while !stop.load(ordering: .relaxed) { _ = try? RPCClient(socketPath: missing) }
        }
        run(in: group) {
            do {
                for _ in 0..<20 { try Self.serverChurn() }
            } catch {
                churnFailures.append("\(error)")
            }
            stop.store(true, ordering: .relaxed)
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        stop.store(true, ordering: .relaxed)
        #expect(churnFailures.all == [])
        #expect(bystanderFailures.all == [])
        #expect(SocketSyscalls.closesOfUnopenedDescriptors.load(ordering: .relaxed) == before)
    }

    private func run(in group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        Thread {
            body()
            group.leave()
        }.start()
    }

    /// A server with a small line cap: clients send oversize lines and others call, some close at once, then the
    /// server stops while connections are still draining.
    private static func serverChurn() throws {
        let server = try TestServer { $0.maxMessageBytes = 256; $0.drainSeconds = 0.05 }
        let big = #"{"jsonrpc":"2.0","method":"echo","params":{"value":""# + String(repeating: "a", count: 2000) + #""},"id":1}"#
        for round in 0..<8 {
            let oversize = try server.client()
            let normal = try server.client()
            try oversize.sendRaw(line: big)
            #expect(try normal.call("echo", params: ["value": .int(round)], timeout: .seconds(5)) == .int(round))
            if round % 2 == 0 {
                let reply = try oversize.readLine(timeout: .seconds(5))
                #expect(reply?.contains(#""code":-32600"#) == true)
            }
            oversize.close()
            if round % 3 == 0 { normal.close() }
        }
        server.server.stopAccepting()
        server.server.stop(flushTimeout: .milliseconds(20))
    }

    /// Opens pipes, and checks a moment later that each end is still open and still the same pipe (a reused number
    /// would show another inode). A stolen end is left alone: closing it would close someone else's file.
    private static func bystander(until stop: borrowing Atomic<Bool>, failures: Recorder<String>) {
        while !stop.load(ordering: .relaxed) {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else {
                failures.append("pipe failed: \(String(cString: strerror(errno)))")
                return
            }
            let identities = ends.map(identity)
            for _ in 0..<20 { sched_yield() }
            for (end, original) in zip(ends, identities) {
                let now = identity(end)
                if now == original && now != nil {
                    _ = Glibc.close(end)
                } else {
                    failures.append("descriptor \(end) of a pipe was closed or replaced by someone else")
                }
            }
        }
    }

    /// The device and inode of an open descriptor, nil when it is not open.
    private static func identity(_ fd: Int32) -> [UInt64]? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
