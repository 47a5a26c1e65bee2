/// Splits a byte stream into `\n`-terminated lines (a `\r` before the `\n` is dropped too), with a hard cap on a
/// line's length. A value type with no I/O: the connection appends what it reads and takes lines out.
///
/// When a line grows past `maxMessageBytes` (with or without its newline yet), `next()` returns `.oversize` once
/// and the framer stops: everything after is discarded, since the stream can no longer be resynchronised safely.
public struct LineFramer: Sendable {
    /// What `next()` yields.
    public enum Event: Sendable, Equatable {
        /// A whole line without its terminator.
        case line([UInt8])
        /// A line longer than the cap; reported once, after which the framer yields nothing more.
        case oversize
    }

    /// The longest line accepted (bytes, without the terminator).
    public let maxMessageBytes: Int
    private var buffer: [UInt8] = []
    /// Where the unconsumed bytes start in `buffer`.
    private var start = 0
    /// How far `buffer` has been searched for a newline (from `start`).
    private var scanned = 0
    private var failed = false
    private var reported = false

    /// A framer with the given cap (default 16 MiB).
    public init(maxMessageBytes: Int = 16 << 20) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Whether the cap has been passed (the stream is finished).
    public var hasFailed: Bool { failed }

    /// Bytes held that do not yet form a whole line.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !failed else { return }
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        guard !failed else { return }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole line, `.oversize` once when the cap is passed, or nil when more bytes are needed.
    public mutating func next() -> Event? {
        if failed {
            if reported { return nil }
            reported = true
            return .oversize
        }
        let end = buffer.count
        var newline: Int? = nil
        buffer.withUnsafeBufferPointer { b in
            var i = start + scanned
            while i < end {
                if b[i] == 0x0A { newline = i; return }
                i += 1
            }
        }
        guard let newline else {
            scanned = end - start
            // A `\r` may still come before the newline, hence + 1.
            if scanned > maxMessageBytes + 1 { fail() ; return next() }
            compact()
            return nil
        }
        var lineEnd = newline
        if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if lineEnd - start > maxMessageBytes { fail(); return next() }
        let line = Array(buffer[start..<lineEnd])
        start = newline + 1
        scanned = 0
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
            start = 0
        }
        return .line(line)
    }

    private mutating func fail() {
        failed = true
        buffer = []
        start = 0
        scanned = 0
    }

    /// Drops consumed bytes once they are at least half the buffer, so a long stream does not grow it.
    private mutating func compact() {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
    }
}
