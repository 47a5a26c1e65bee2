import Dispatch
import Glibc
import Logging

/// One accepted client: its socket, its read source (and a write source while output is pending), its framer and
/// its output queue. Every member is used only on the server's queue (hence the unchecked sendability: closures
/// that capture it hop onto that queue before touching it).
final class RPCServerConnection: @unchecked Sendable {
    /// Where the connection is in its life.
    enum Phase {
        /// Reading requests and writing replies.
        case open
        /// A line passed the cap: the error is being sent, input is discarded until end of file or the drain
        /// deadline, then the connection closes.
        case draining
        /// The server is stopping: no more input; closes once the output is flushed.
        case flushing
        /// Closed; the descriptor is closed once every source has finished cancelling.
        case closed
    }

    let fd: Int32
    let handle: RPCConnectionHandle
    private(set) var phase = Phase.open
    private var framer: LineFramer
    private let queue: DispatchQueue
    /// Runs a block on `queue`, at once when already there.
    private let perform: @Sendable (@escaping @Sendable () -> Void) -> Void
    private let dispatcher: RPCDispatcher
    private let drainSeconds: Double
    private var logger: Logger
    /// Called once when the connection has closed (the server forgets it).
    private let onClosed: (RPCServerConnection) -> Void
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var drainTimer: DispatchSourceTimer?
    /// Sources created and not yet through their cancel handler; the descriptor outlives them all.
    private var liveSources = 0
    private var output: [UInt8] = []
    private var outputStart = 0
    private var flushScheduled = false
    /// Reply lines promised by the dispatcher and not yet queued.
    private var outstandingReplies = 0
    /// The peer shut down its side: no more requests, but replies to the earlier ones still go out.
    private var inputEnded = false

    init(fd: Int32, handle: RPCConnectionHandle, queue: DispatchQueue,
         perform: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void, dispatcher: RPCDispatcher,
         configuration: RPCServerConfiguration, logger: Logger, onClosed: @escaping (RPCServerConnection) -> Void) {
        self.fd = fd
        self.handle = handle
        self.queue = queue
        self.perform = perform
        self.dispatcher = dispatcher
        self.framer = LineFramer(maxMessageBytes: configuration.maxMessageBytes)
        self.drainSeconds = configuration.drainSeconds
        self.logger = logger
        self.logger[metadataKey: "connection"] = "\(handle.id)"
        self.onClosed = onClosed
    }

    /// Starts reading.
    func start(readBuffer: RPCReadBuffer) {
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in readAvailable(into: readBuffer.bytes) }
        source.setCancelHandler { [self] in sourceFinished() }
        liveSources += 1
        readSource = source
        source.resume()
    }

    // MARK: Input

    /// Reads what the socket holds (a bounded amount per event, so one busy client cannot starve the others).
    private func readAvailable(into buffer: UnsafeMutableRawBufferPointer) {
        for _ in 0..<16 {
            guard phase == .open || phase == .draining else { return }
            switch SocketSyscalls.read(fd, buffer) {
            case .success(0):
                endOfInput()
                return
            case .success(let count):
                if phase == .draining { continue }
                framer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                processLines()
            case .failure(let error) where error.code == EAGAIN || error.code == EWOULDBLOCK:
                return
            case .failure(let error):
                logger.debug("read failed: \(error.reason); closing")
                close()
                return
            }
        }
    }

    /// Dispatches every whole line the framer holds.
    private func processLines() {
        while phase == .open, let event = framer.next() {
            switch event {
            case .line(let line):
                // An empty line (a keep-alive or a stray `\r\n`) is not a message.
                if line.isEmpty { continue }
                let owner = WeakConnection(self)
                // Counted before dispatching: a handler may reply (and uncount) before `dispatch` returns.
                outstandingReplies += 1
                let expectsReply = dispatcher.dispatch(line, on: handle) { [handle, perform] reply in
                    var bytes = reply
                    bytes.append(0x0A)
                    _ = handle.send(bytes)
                    perform { owner.connection?.replyQueued() }
                }
                if !expectsReply { outstandingReplies -= 1 }
            case .oversize:
                beginDraining()
            }
        }
    }

    /// A line passed the cap: reply Invalid Request (id null), then close once it is out and the peer stops.
    private func beginDraining() {
        logger.notice("a request line passed \(framer.maxMessageBytes) bytes; closing the connection")
        phase = .draining
        let error = RPCError.invalidRequest("the line is longer than \(framer.maxMessageBytes) bytes; split the request or raise the server's message size limit")
        var line = RPCResponse.encode(.failure(error), id: .null)
        line.append(0x0A)
        if handle.send(line) == false { close(); return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + drainSeconds)
        timer.setEventHandler { [weak self] in self?.close() }
        drainTimer = timer
        timer.resume()
    }

    /// The peer shut down its writing side.
    private func endOfInput() {
        if phase == .draining {
            // The peer is done sending: what is queued (the Invalid Request line) still goes out, then close.
            readSource?.cancel()
            readSource = nil
            phase = .flushing
            if outputIsEmpty && writeSource == nil && !flushScheduled { close() }
            return
        }
        inputEnded = true
        readSource?.cancel()
        readSource = nil
        closeIfFinished()
    }

    private func replyQueued() {
        outstandingReplies -= 1
        closeIfFinished()
    }

    /// After end of input, closes once every promised reply is written and nothing holds the connection.
    private func closeIfFinished() {
        if inputEnded, phase == .open, outstandingReplies == 0, outputIsEmpty, !handle.isHeld { close() }
    }

    /// The last hold on the handle is gone.
    func holdsReleased() { closeIfFinished() }

    // MARK: Output

    private var outputIsEmpty: Bool { outputStart == output.count }

    /// Queues a line accepted by the handle; writing happens in one go after the lines queued with it.
    func enqueue(_ line: [UInt8]) {
        guard phase != .closed else { return }
        output.append(contentsOf: line)
        if writeSource == nil && !flushScheduled {
            flushScheduled = true
            queue.async { [weak self] in self?.flush() }
        }
    }

    /// Writes as much as the socket takes; waits for writability with a write source when it is full.
    private func flush() {
        flushScheduled = false
        guard phase != .closed else { return }
        while !outputIsEmpty {
            let result = output.withUnsafeBytes { raw in
                SocketSyscalls.send(fd, UnsafeRawBufferPointer(rebasing: raw[outputStart...]))
            }
            switch result {
            case .success(let count):
                outputStart += count
                handle.didWrite(count)
            case .failure(let error) where error.code == EAGAIN || error.code == EWOULDBLOCK:
                waitForWritability()
                return
            case .failure(let error):
                logger.debug("write failed: \(error.reason); closing")
                close()
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 16)
        outputStart = 0
        if let source = writeSource {
            writeSource = nil
            source.cancel()
        }
        switch phase {
        case .draining:
            // The error line is out: tell the peer we are done, keep discarding until it closes or time runs out.
            SocketSyscalls.shutdownWrite(fd)
        case .flushing: close()
        case .open: closeIfFinished()
        case .closed: break
        }
    }

    private func waitForWritability() {
        if outputStart > output.count / 2 {
            output.removeFirst(outputStart)
            outputStart = 0
        }
        guard writeSource == nil else { return }
        let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [unowned self] in flush() }
        source.setCancelHandler { [self] in sourceFinished() }
        liveSources += 1
        writeSource = source
        source.resume()
    }

    // MARK: Closing

    /// Stops reading and closes once the pending output is written (the server's `stop`).
    func finishAfterFlush() {
        guard phase == .open || phase == .draining else { return }
        phase = .flushing
        readSource?.cancel()
        readSource = nil
        if outputIsEmpty && writeSource == nil && !flushScheduled { close() }
    }

    /// Closes now: sources cancelled, close callbacks run, the server told. Pending output is dropped.
    func close() {
        guard phase != .closed else { return }
        phase = .closed
        readSource?.cancel()
        readSource = nil
        writeSource?.cancel()
        writeSource = nil
        drainTimer?.cancel()
        drainTimer = nil
        output = []
        outputStart = 0
        if liveSources == 0 { SocketSyscalls.close(fd) }
        for callback in handle.markClosed() { callback() }
        onClosed(self)
    }

    /// A source finished cancelling; the descriptor is closed after the last one of a closed connection.
    private func sourceFinished() {
        liveSources -= 1
        if liveSources == 0 && phase == .closed { SocketSyscalls.close(fd) }
    }
}

/// The server's one read buffer, shared by its connections (they read one at a time on the server's queue).
final class RPCReadBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(size: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 16)
    }

    deinit { bytes.deallocate() }
}

/// A weak reference a reply closure can carry to another thread without keeping a closed connection alive.
final class WeakConnection: Sendable {
    weak let connection: RPCServerConnection?

    init(_ connection: RPCServerConnection) { self.connection = connection }
}
