import Foundation
import Glibc
import LoraJSON
import Testing
@testable import LoraRPC

/// The socket file, inherited descriptors, the connection cap, and stopping.
@Suite struct ServerLifecycleTests {
    private func makeServer(_ configure: (inout RPCServerConfiguration) -> Void = { _ in }) -> UnixSocketServer {
        var configuration = RPCServerConfiguration()
        configure(&configuration)
        return UnixSocketServer(methods: TestServer.methods(closed: Recorder()), configuration: configuration,
                                logger: TestServer.quietLogger, authorize: { _, _ in true },
                                denied: { _, _ in RPCError(code: -32010, message: "denied") })
    }

    /// A socket bound at `path` (a socket file) that is listening only when `listening`.
    private func boundSocket(at path: String, listening: Bool) throws -> Int32 {
        let fd = try SocketSyscalls.unixSocket().get()
        let address = try #require(SocketSyscalls.address(path))
        #expect(SocketSyscalls.bind(fd, address) == nil)
        if listening { #expect(SocketSyscalls.listen(fd, backlog: 16) == nil) }
        return fd
    }

    @Test func socketFileIsCreatedWithMode0660AndRemovedByStopAccepting() throws {
        let server = try TestServer()
        var info = stat()
        #expect(lstat(server.path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(server.server.socketPath == server.path)

        let client = try server.client()
        #expect(try client.call("echo", params: ["value": 1]) == 1)
        server.server.stopAccepting()
        #expect(access(server.path, F_OK) != 0)
        // The open connection goes on; a new one cannot be made.
        #expect(try client.call("echo", params: ["value": 2]) == 2)
        #expect(throws: RPCClientError.self) { try server.client() }
    }

    @Test func staleSocketIsReplaced() throws {
        let path = TestServer.freshPath()
        let stale = try boundSocket(at: path, listening: false)
        SocketSyscalls.close(stale)
        let server = makeServer()
        try server.listen(path: path)
        server.start()
        defer { server.stop(flushTimeout: .zero) }
        #expect(try RPCClient(socketPath: path).call("get_data") == ["hello", 5])
    }

    @Test func liveSocketAndNonSocketAreRefused() throws {
        let live = try TestServer()
        let second = makeServer()
        #expect(throws: RPCServerError.alreadyListening(live.path)) { try second.listen(path: live.path) }
        #expect(RPCServerError.alreadyListening(live.path).description.contains("another server is listening on \(live.path)"))
        // The first server is untouched.
        #expect(try live.client().call("echo", params: ["value": 3]) == 3)

        let path = TestServer.freshPath()
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8)))
        defer { unlink(path) }
        #expect(throws: RPCServerError.notASocket(path)) { try second.listen(path: path) }
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
        #expect(throws: RPCServerError.pathTooLong("/tmp/" + String(repeating: "x", count: 120))) {
            try second.listen(path: "/tmp/" + String(repeating: "x", count: 120))
        }
    }

    @Test func adoptsAnInheritedListeningSocketAndNeverUnlinksIt() throws {
        let path = TestServer.freshPath()
        defer { unlink(path) }
        let fd = try boundSocket(at: path, listening: true)
        let server = makeServer()
        try server.adopt(listeningDescriptor: fd)
        server.start()
        #expect(try RPCClient(socketPath: path).call("echo", params: ["value": "adopted"]) == "adopted")
        server.stop(flushTimeout: .milliseconds(100))
        #expect(access(path, F_OK) == 0)
        #expect(server.socketPath == nil)
    }

    @Test func adoptRefusesWhatIsNotAListeningUnixStreamSocket() throws {
        let server = makeServer()
        let path = TestServer.freshPath()
        defer { unlink(path) }
        let notListening = try boundSocket(at: path, listening: false)
        defer { SocketSyscalls.close(notListening) }
        #expect(throws: RPCServerError.notAListeningSocket(descriptor: notListening, reason: "its listening flag is 0")) {
            try server.adopt(listeningDescriptor: notListening)
        }
        var pipeEnds: [Int32] = [0, 0]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        #expect(throws: RPCServerError.self) { try server.adopt(listeningDescriptor: pipeEnds[0]) }
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(udp) }
        #expect(throws: RPCServerError.notAListeningSocket(descriptor: udp, reason: "its address family is \(AF_INET)")) {
            try server.adopt(listeningDescriptor: udp)
        }
    }

    @Test func connectionCapRefusesOneMoreWithOneErrorLine() throws {
        let server = try TestServer { $0.maxConnections = 2 }
        let first = try server.client()
        let second = try server.client()
        #expect(try first.call("echo", params: ["value": 1]) == 1)
        #expect(try second.call("echo", params: ["value": 2]) == 2)
        let third = try server.client()
        #expect(try third.readLine(timeout: .seconds(5))
                == #"{"jsonrpc":"2.0","error":{"code":-32000,"message":"too many connections (the limit is 2); close idle clients or raise the limit","data":{"name":"Busy","limit":2}},"id":null}"#)
        #expect(try third.readLine(timeout: .seconds(5)) == nil)
        #expect(server.server.connectionCount == 2)
        first.close()
        #expect(waitUntil { server.server.connectionCount == 1 })
        #expect(try server.client().call("echo", params: ["value": 4]) == 4)
    }

    @Test func stopFlushesClosesEveryConnectionAndRunsCloseCallbacks() throws {
        let server = try TestServer()
        let clients = try (0..<3).map { _ in try server.client() }
        var ids: [UInt64] = []
        for client in clients { ids.append(UInt64(try #require(try client.call("watch").numberValue?.int))) }
        #expect(server.server.connectionCount == 3)
        server.server.stop(flushTimeout: .seconds(1))
        #expect(server.server.connectionCount == 0)
        #expect(Set(server.closedConnections.all) == Set(ids))
        for client in clients { #expect(try client.readLine(timeout: .seconds(5)) == nil) }
        #expect(access(server.path, F_OK) != 0)
    }

    @Test func clientSaysWhatToCheckWhenNothingListens() throws {
        let missing = TestServer.freshPath()
        #expect {
            try RPCClient(socketPath: missing)
        } throws: { error in
            guard case RPCClientError.cannotConnect(_, let code, _) = error else { return false }
            return code == ENOENT && "\(error)".contains("is lorad running")
        }
        let path = TestServer.freshPath()
        defer { unlink(path) }
        let stale = try boundSocket(at: path, listening: false)
        defer { SocketSyscalls.close(stale) }
        #expect {
            try RPCClient(socketPath: path)
        } throws: { error in
            guard case RPCClientError.cannotConnect(_, let code, _) = error else { return false }
            return code == ECONNREFUSED && "\(error)".contains("nothing accepts connections")
        }
    }

    @Test func idleConnectionsStayOpen() throws {
        let server = try TestServer { $0.drainSeconds = 0.1 }
        let client = try server.client()
        usleep(500_000)
        #expect(server.server.connectionCount == 1)
        #expect(try client.call("echo", params: ["value": "awake"]) == "awake")
    }
}
