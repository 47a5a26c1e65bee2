import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A stand-in for systemd's notification socket: a `SOCK_DGRAM` Unix socket whose path is given to lorad as
/// `NOTIFY_SOCKET`; it records every datagram with the (monotonic) time it arrived.
final class NotifyListener: Sendable {
    /// One notification: its `KEY=value` lines and when it arrived.
    struct Message: Sendable {
        var lines: [String]
        var at: Date
        func has(_ line: String) -> Bool { lines.contains(line) }
        func value(_ key: String) -> String? { lines.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) } }
    }

    let path: String
    private let fd: Int32
    /// What the reading thread shares with the listener (the thread holds this, not the listener, so that the
    /// listener is released and its deinit stops the thread).
    private final class Inbox: Sendable {
        let received = Mutex<[Message]>([])
        let closed = Atomic<Bool>(false)
    }

    private let inbox = Inbox()

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LoradProcess.Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw LoradProcess.Failure(description: "bind \(path): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [inbox, fd] in
            var buffer = [UInt8](repeating: 0, count: 8192)
            while !inbox.closed.load(ordering: .relaxed) {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { continue }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                let message = Message(lines: text.split(separator: "\n").map(String.init), at: Date())
                inbox.received.withLock { $0.append(message) }
            }
        }
        thread.start()
    }

    deinit {
        inbox.closed.store(true, ordering: .relaxed)
        usleep(150_000)
        close(fd)
        unlink(path)
    }

    var messages: [Message] { inbox.received.withLock { $0 } }

    /// Waits until a message satisfies `predicate`; the index of the first such message after `from`.
    func wait(from: Int = 0, timeout: Double = 60, _ predicate: (Message) -> Bool) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let all = messages
            if from < all.count, let i = all[from...].firstIndex(where: predicate) { return i }
            usleep(10_000)
        } while Date() < deadline
        return nil
    }

    /// The times of the `WATCHDOG=1` pings so far.
    var pings: [Date] { messages.filter { $0.has("WATCHDOG=1") }.map(\.at) }
}
