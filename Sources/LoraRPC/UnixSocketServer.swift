import Dispatch
import Foundation
import Logging
import Synchronization

/// A JSON-RPC 2.0 server on a Unix stream socket, built on Dispatch sources: one read source accepts, one per
/// connection reads, a write source exists while a connection has output the socket would not take. Sockets are
/// non-blocking and one serial queue owns them all (no thread per client); handlers run on that queue and must not
/// block. Keep the server alive until `stop(flushTimeout:)` has returned.
///
/// Requests of one connection are dispatched in the order they arrive. A handler may reply later from any
/// thread; single replies are written as they complete (clients match them by id), a batch's replies go out
/// together as one array line in request order.
public final class UnixSocketServer: @unchecked Sendable {
    // Everything below marked "queue" is touched only on `queue`.
    let queue: DispatchQueue
    private let queueKey = DispatchSpecificKey<ObjectIdentifier>()
    let configuration: RPCServerConfiguration
    let logger: Logger
    private let dispatcher: RPCDispatcher
    private let readBuffer = RPCReadBuffer(size: 64 << 10)
    private let liveConnections = Atomic<Int>(0)
    private let nextConnectionID = Atomic<UInt64>(1)
    /// queue: the listening socket, and the socket file it created (with its identity, so a successor's file is
    /// never removed).
    var listener: RPCListener?
    /// queue: the accept source while accepting.
    private var acceptSource: DispatchSourceRead?
    private var acceptPaused = false
    /// queue: open connections by id.
    private var connections: [UInt64: RPCServerConnection] = [:]
    /// queue: signalled when the last connection closes during `stop`.
    private var stopWaiter: DispatchSemaphore?

    /// A server dispatching `methods`. `authorize` is asked (on the server's queue) before a method marked admin
    /// runs, with the peer and the method name; when it returns false the caller gets `denied(peer, method)`.
    public init(methods: RPCMethodTable, configuration: RPCServerConfiguration, logger: Logger,
                authorize: @escaping @Sendable (PeerCredentials, String) -> Bool,
                denied: @escaping @Sendable (PeerCredentials, String) -> RPCError) {
        self.queue = DispatchQueue(label: "lorad.rpc")
        self.configuration = configuration
        self.logger = logger
        self.dispatcher = RPCDispatcher(methods: methods, decoder: configuration.decoder, authorize: authorize, denied: denied)
        queue.setSpecific(key: queueKey, value: ObjectIdentifier(self))
    }

    /// The number of open connections.
    public var connectionCount: Int { liveConnections.load(ordering: .acquiring) }

    /// The path of the socket file the server created with `listen(path:)`, or nil.
    public var socketPath: String? { onQueue { listener?.createdPath } }

    /// A liveness probe: `answer` runs on the server's queue once the work queued before it is done. A queue
    /// stuck in a handler never answers (the daemon's systemd watchdog pings only after an answer).
    public func probe(_ answer: @escaping @Sendable () -> Void) {
        queue.async(execute: answer)
    }

    /// Starts accepting on the socket of `listen(path:)` or `adopt(listeningDescriptor:)`.
    public func start() {
        onQueue {
            guard let listener, acceptSource == nil else {
                if self.listener == nil { logger.error("start() before listen(path:) or adopt(listeningDescriptor:); nothing to accept on") }
                return
            }
            let source = DispatchSource.makeReadSource(fileDescriptor: listener.fd, queue: queue)
            source.setEventHandler { [weak self] in self?.acceptPending() }
            source.setCancelHandler { SocketSyscalls.close(listener.fd) }
            acceptSource = source
            source.resume()
            logger.info("accepting connections", metadata: ["socket": "\(listener.createdPath ?? "fd \(listener.fd)")"])
        }
    }

    /// Stops accepting: closes the listening socket and removes the socket file it created (an adopted one is
    /// left alone). Open connections go on.
    public func stopAccepting() {
        onQueue {
            guard let listener else { return }
            self.listener = nil
            if let source = acceptSource {
                if acceptPaused { source.resume() }
                acceptPaused = false
                source.cancel()
                acceptSource = nil
            } else {
                SocketSyscalls.close(listener.fd)
            }
            listener.removeFile()
        }
    }

    /// Stops accepting, stops reading, writes what is pending for at most `flushTimeout`, then closes every
    /// connection (running their close callbacks). Blocks until done; do not call it from a handler.
    public func stop(flushTimeout: Duration) {
        let seconds = Double(flushTimeout.components.seconds) + Double(flushTimeout.components.attoseconds) * 1e-18
        let waiter = DispatchSemaphore(value: 0)
        let mustWait = onQueue { () -> Bool in
            stopAccepting()
            for connection in Array(connections.values) { connection.finishAfterFlush() }
            guard !connections.isEmpty else { return false }
            stopWaiter = waiter
            queue.asyncAfter(deadline: .now() + max(0, seconds)) { [weak self] in
                guard let self else { return }
                for connection in Array(connections.values) { connection.close() }
            }
            return true
        }
        // From the server's own queue, waiting would deadlock: the closing then finishes asynchronously.
        guard mustWait, DispatchQueue.getSpecific(key: queueKey) != ObjectIdentifier(self) else { return }
        _ = waiter.wait(timeout: .now() + max(0, seconds) + 5)
    }

    // MARK: Accepting

    /// Accepts every waiting connection.
    private func acceptPending() {
        guard let listener else { return }
        while true {
            switch SocketSyscalls.accept(listener.fd) {
            case .success(let fd): admit(fd)
            case .failure(let error) where error.code == EAGAIN || error.code == EWOULDBLOCK: return
            case .failure(let error) where error.code == EMFILE || error.code == ENFILE || error.code == ENOBUFS || error.code == ENOMEM:
                // The listener stays readable, so accepting again at once would spin: pause a little.
                logger.warning("accept failed: \(error.reason); pausing accepts for 100 ms (raise the descriptor limit?)")
                pauseAccepting()
                return
            case .failure(let error):
                // ECONNABORTED and the like concern one would-be client only.
                logger.debug("accept failed: \(error.reason)")
                if error.code != ECONNABORTED && error.code != EPROTO { return }
            }
        }
    }

    private func pauseAccepting() {
        guard let source = acceptSource, !acceptPaused else { return }
        acceptPaused = true
        source.suspend()
        queue.asyncAfter(deadline: .now() + 0.1) { [weak self] in
            guard let self, acceptPaused, let source = acceptSource else { return }
            acceptPaused = false
            source.resume()
        }
    }

    /// Takes in an accepted socket, or refuses it with one error line when the cap is reached.
    private func admit(_ fd: Int32) {
        if connections.count >= configuration.maxConnections {
            var line = RPCResponse.encode(.failure(configuration.resolvedConnectionLimitError), id: .null)
            line.append(0x0A)
            _ = line.withUnsafeBytes { SocketSyscalls.send(fd, $0) }
            SocketSyscalls.close(fd)
            logger.warning("refused a connection: \(configuration.maxConnections) are open (the limit)")
            return
        }
        let peer = SocketSyscalls.peerCredentials(fd) ?? PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max)
        let id = nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
        let handle = RPCConnectionHandle(
            id: id, peer: peer, maxPendingBytes: configuration.maxPendingOutputBytes,
            deliver: { [weak self] line in
                guard let self else { return }
                perform { self.connections[id]?.enqueue(line) }
            },
            requestClose: { [weak self] in
                guard let self else { return }
                queue.async {
                    guard let connection = self.connections[id] else { return }
                    self.logger.notice("disconnecting a client that does not read its replies",
                                       metadata: ["connection": "\(id)", "peer": "\(peer)",
                                                  "limit": "\(self.configuration.maxPendingOutputBytes)"])
                    connection.close()
                }
            },
            released: { [weak self] in
                guard let self else { return }
                perform {
                    self.connections[id]?.handle.dropHold()
                    self.connections[id]?.holdsReleased()
                }
            })
        let connection = RPCServerConnection(
            fd: fd, handle: handle, queue: queue, perform: { [weak self] body in self?.perform(body) },
            dispatcher: dispatcher, configuration: configuration, logger: logger,
            onClosed: { [weak self] connection in self?.connectionClosed(connection) })
        connections[id] = connection
        liveConnections.add(1, ordering: .releasing)
        logger.debug("connection opened", metadata: ["connection": "\(id)", "peer": "\(peer)"])
        connection.start(readBuffer: readBuffer)
    }

    private func connectionClosed(_ connection: RPCServerConnection) {
        guard connections.removeValue(forKey: connection.handle.id) != nil else { return }
        liveConnections.subtract(1, ordering: .releasing)
        logger.debug("connection closed", metadata: ["connection": "\(connection.handle.id)"])
        if connections.isEmpty, let waiter = stopWaiter {
            stopWaiter = nil
            waiter.signal()
        }
    }

    /// Runs `body` on the queue: at once when already there (a handler replying synchronously saves a hop),
    /// else asynchronously.
    func perform(_ body: @escaping @Sendable () -> Void) {
        if DispatchQueue.getSpecific(key: queueKey) == ObjectIdentifier(self) { body() } else { queue.async(execute: body) }
    }

    /// Runs `body` on the queue: at once when already there, else synchronously.
    func onQueue<T>(_ body: () throws -> T) rethrows -> T {
        if DispatchQueue.getSpecific(key: queueKey) == ObjectIdentifier(self) { return try body() }
        return try queue.sync(execute: body)
    }
}
