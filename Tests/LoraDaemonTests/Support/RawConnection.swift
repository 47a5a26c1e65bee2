import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A client connection at the byte level, for transcripts and hostile input: it writes exactly the bytes given
/// (one at a time if asked) and reads lines as the daemon wrote them, so nothing a library client normalizes
/// hides a framing bug.
final class RawConnection {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var closedByPeer = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw Failure(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect \(path): errno \(code)")
        }
    }

    deinit { close(fd) }

    /// Stops using the connection (the daemon sees it close).
    func closeNow() {
        shutdown(fd, Int32(SHUT_RDWR))
        closedByPeer = true
    }

    /// Shuts down the writing side only: the daemon sees the end of the requests and may still answer.
    func shutdownWriting() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Shrinks the kernel's receive buffer, so that a client that stops reading fills up fast.
    func shrinkReceiveBuffer(to bytes: Int32 = 4096) {
        var size = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Writes all of `bytes`; false when the peer closed the connection.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Writes `text` one byte per `send` call.
    func writeByteByByte(_ text: String) {
        for byte in text.utf8 { write([byte]) }
    }

    /// The next line without its `\n`, or nil when the peer closed the connection or `timeout` passed.
    func readLine(timeout: Double = 30) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 || closedByPeer { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                closedByPeer = true
                continue
            }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Whether the daemon closed the connection within `timeout` (reading and discarding whatever comes first).
    func waitForClose(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if closedByPeer { return true }
            _ = readLine(timeout: max(0.01, deadline.timeIntervalSinceNow))
        }
        return closedByPeer
    }
}
