import Dispatch
import Glibc
import LoraJSON

/// A blocking JSON-RPC client on a Unix socket, for lorctl, tests and benchmarks. Use it from one thread at a
/// time; open one client per thread for concurrency.
public final class RPCClient {
    /// Gets the notifications (`method`, `params`) that arrive while `call` waits for its reply.
    public var onNotification: (@Sendable (String, JSONValue) -> Void)?
    /// The socket path connected to.
    public let socketPath: String
    private var fd: Int32
    private var framer = LineFramer(maxMessageBytes: 1 << 30)
    private var nextID = 1
    private let parseOptions = JSONParseOptions(maxDepth: 512, strict: true)

    /// Connects to the server at `socketPath`; the error says what to check when nothing listens there.
    public init(socketPath: String) throws(RPCClientError) {
        self.socketPath = socketPath
        guard let address = SocketSyscalls.address(socketPath) else {
            throw .cannotConnect(path: socketPath, errno: ENAMETOOLONG, reason: "the path is empty or longer than 107 bytes")
        }
        let descriptor: Int32
        switch SocketSyscalls.unixSocket() {
        case .success(let opened): descriptor = opened
        case .failure(let error): throw .system(call: "socket", errno: error.code, reason: error.reason)
        }
        if let error = SocketSyscalls.connect(descriptor, address) {
            SocketSyscalls.close(descriptor)
            throw .cannotConnect(path: socketPath, errno: error.code, reason: error.reason)
        }
        // Stored only once connected: when an initializer throws after every stored property is set, `deinit`
        // runs, and its `close()` would close the number a second time (by then perhaps another thread's file).
        fd = descriptor
    }

    deinit { close() }

    /// Calls `method` and returns its result; a JSON-RPC error is thrown as `.remote`. Waits at most `timeout`
    /// (for ever when nil). Notifications that arrive meanwhile go to `onNotification`; replies to other ids are
    /// skipped.
    public func call(_ method: String, params: JSONValue? = nil, timeout: Duration? = nil) throws(RPCClientError) -> JSONValue {
        let id = RPCID(nextID)
        nextID += 1
        var line = RPCRequest(method: method, params: params, id: id).json.serialized()
        line.append(0x0A)
        try sendRaw(bytes: line)
        let deadline = timeout.map { Self.deadline(after: $0) }
        while true {
            guard let reply = try readLineBytes(deadline: deadline, method: method, timeout: timeout) else { throw .closed }
            let value: JSONValue
            do {
                value = try JSONValue.parse(reply, options: parseOptions)
            } catch {
                throw .invalidResponse(error.description)
            }
            if case .string(let name)? = value["method"], value["id"] == nil {
                onNotification?(name, value["params"] ?? .null)
                continue
            }
            guard let replyID = value["id"].flatMap(RPCID.init), replyID == id else { continue }
            if let error = value["error"] {
                guard let decoded = RPCError(json: error) else { throw .invalidResponse("an error without code and message") }
                throw .remote(decoded)
            }
            guard let result = value["result"] else { throw .invalidResponse("a reply with neither result nor error") }
            return result
        }
    }

    /// Sends a notification (no reply comes).
    public func notify(_ method: String, params: JSONValue? = nil) throws(RPCClientError) {
        var line = RPCRequest(method: method, params: params, id: nil).json.serialized()
        line.append(0x0A)
        try sendRaw(bytes: line)
    }

    /// Sends `line` followed by `\n` (for transcripts of exact bytes).
    public func sendRaw(line: String) throws(RPCClientError) {
        try sendRaw(bytes: Array(line.utf8) + [0x0A])
    }

    /// Sends `bytes` as they are.
    public func sendRaw(bytes: [UInt8]) throws(RPCClientError) {
        guard fd >= 0 else { throw .closed }
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                SocketSyscalls.send(fd, UnsafeRawBufferPointer(rebasing: raw[sent...]), wait: true)
            }
            switch result {
            case .success(let count): sent += count
            case .failure(let error) where error.code == EPIPE || error.code == ECONNRESET: throw .closed
            case .failure(let error): throw .system(call: "send", errno: error.code, reason: error.reason)
            }
        }
    }

    /// The next line the server sends (without its terminator), or nil when it closed the connection. Throws
    /// `.timeout` when nothing whole comes within `timeout` (nil waits for ever).
    public func readLine(timeout: Duration? = nil) throws(RPCClientError) -> String? {
        let deadline = timeout.map { Self.deadline(after: $0) }
        return try readLineBytes(deadline: deadline, method: nil, timeout: timeout).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Tells the server no more requests will come (`shutdown(SHUT_WR)`); replies can still be read.
    public func shutdownWriting() throws(RPCClientError) {
        guard fd >= 0 else { throw .closed }
        SocketSyscalls.shutdownWrite(fd)
    }

    /// Closes the connection (again is harmless).
    public func close() {
        guard fd >= 0 else { return }
        SocketSyscalls.close(fd)
        fd = -1
    }

    private func readLineBytes(deadline: UInt64?, method: String?, timeout: Duration?) throws(RPCClientError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if let event = framer.next() {
                switch event {
                case .line(let line): return line
                case .oversize: throw .invalidResponse("a line longer than \(framer.maxMessageBytes) bytes")
                }
            }
            guard fd >= 0 else { return nil }
            var wait: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                guard now < deadline else { throw .timeout(method: method, seconds: Self.seconds(timeout)) }
                wait = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            switch SocketSyscalls.poll(fd, events: Int16(POLLIN), milliseconds: wait) {
            case .success(false): throw .timeout(method: method, seconds: Self.seconds(timeout))
            case .success(true): break
            case .failure(let error): throw .system(call: "poll", errno: error.code, reason: error.reason)
            }
            let result = buffer.withUnsafeMutableBytes { SocketSyscalls.read(fd, $0) }
            switch result {
            case .success(0): return nil
            case .success(let count): framer.append(buffer[0..<count])
            case .failure(let error) where error.code == ECONNRESET: return nil
            case .failure(let error) where error.code == EAGAIN: continue
            case .failure(let error): throw .system(call: "read", errno: error.code, reason: error.reason)
            }
        }
    }

    private static func deadline(after timeout: Duration) -> UInt64 {
        let nanoseconds = max(0, seconds(timeout)) * 1e9
        return DispatchTime.now().uptimeNanoseconds &+ UInt64(min(nanoseconds, 1e18))
    }

    private static func seconds(_ duration: Duration?) -> Double {
        guard let duration else { return .infinity }
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
