import LoraJSON
import Synchronization

/// A thread-safe handle on one client connection: send notifications, learn whether it is open, and run code
/// when it closes. Handlers get it through `RPCCall`; it may be kept after the call to stream results.
public final class RPCConnectionHandle: Sendable {
    private struct State {
        var closed = false
        var callbacks: [@Sendable () -> Void] = []
        /// Bytes accepted for sending and not yet written to the socket.
        var pendingBytes = 0
        /// Work that will still send on the connection (a streaming job): a client that has shut down its side
        /// is not closed on before it is done.
        var holds = 0
    }

    /// A number identifying the connection for the life of the server (1, 2, ...).
    public let id: UInt64
    /// Who connected.
    public let peer: PeerCredentials
    /// The cap on `pendingBytes`; passing it closes the connection.
    public let maxPendingBytes: Int
    private let state = Mutex(State())
    /// Hands a line (with its newline) to the connection's owner.
    private let deliver: @Sendable ([UInt8]) -> Void
    /// Asks the owner to close the connection (after an overflow).
    private let requestClose: @Sendable () -> Void
    /// Hands a release to the owner, who applies it (`dropHold`) in order with the lines sent before it; nil:
    /// releases apply at once.
    private let released: (@Sendable () -> Void)?

    /// A handle whose lines go to `deliver` (the server's socket writer, or a test's recorder) and whose
    /// overflow calls `requestClose`.
    public init(id: UInt64, peer: PeerCredentials, maxPendingBytes: Int,
                deliver: @escaping @Sendable ([UInt8]) -> Void, requestClose: @escaping @Sendable () -> Void,
                released: (@Sendable () -> Void)? = nil) {
        self.released = released
        self.id = id
        self.peer = peer
        self.maxPendingBytes = maxPendingBytes
        self.deliver = deliver
        self.requestClose = requestClose
    }

    /// Whether the connection is still open.
    public var isOpen: Bool { state.withLock { !$0.closed } }

    /// Sends a notification `{"jsonrpc":"2.0","method":...,"params":...}` as one line. False when the connection
    /// is closed, or when its outgoing queue would pass its bound (the connection is then closed: a client that
    /// does not read must not hold the server's memory).
    @discardableResult
    public func notify(method: String, params: JSONValue) -> Bool {
        var line = RPCResponse.encodeNotification(method: method, params: params)
        line.append(0x0A)
        return send(line)
    }

    /// Keeps the connection open for work that will still send on it (a stream of notifications after the reply),
    /// even after the client has shut down its sending side; `release` ends it. Unbalanced releases are ignored.
    public func hold() {
        state.withLock { $0.holds += 1 }
    }

    /// Ends a `hold`. It takes effect after the lines sent before it are queued: a release must not let the
    /// connection close between a job's last notification being sent and its being queued.
    public func release() {
        if let released { released() } else { dropHold() }
    }

    /// Applies a release (the owner calls it in order with the lines).
    func dropHold() {
        state.withLock { state in
            if state.holds > 0 { state.holds -= 1 }
        }
    }

    /// Whether some work still holds the connection open.
    var isHeld: Bool { state.withLock { $0.holds > 0 } }

    /// Runs `callback` once when the connection closes (at once if it is already closed). Callbacks run on the
    /// server's queue and must not block.
    public func onClose(_ callback: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.closed { return true }
            state.callbacks.append(callback)
            return false
        }
        if runNow { callback() }
    }

    /// Queues a whole line (terminator included); false if closed or over the bound.
    func send(_ line: [UInt8]) -> Bool {
        let outcome = state.withLock { state -> Bool? in
            if state.closed { return false }
            if state.pendingBytes + line.count > maxPendingBytes { return nil }
            state.pendingBytes += line.count
            return true
        }
        guard let accepted = outcome else {
            requestClose()
            return false
        }
        if accepted { deliver(line) }
        return accepted
    }

    /// Bytes that reached the socket.
    func didWrite(_ count: Int) {
        state.withLock { $0.pendingBytes -= count }
    }

    /// Bytes accepted and not yet written.
    var pendingBytes: Int { state.withLock { $0.pendingBytes } }

    /// Marks the connection closed and returns the callbacks to run (once; later calls return none).
    func markClosed() -> [@Sendable () -> Void] {
        state.withLock { state in
            if state.closed { return [] }
            state.closed = true
            let callbacks = state.callbacks
            state.callbacks = []
            return callbacks
        }
    }
}
