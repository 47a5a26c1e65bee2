#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the socket calls the server and client make; each names the C function it calls and
/// returns errno on failure, retrying EINTR where a retry is right.
enum SocketSyscalls {
    /// `struct ucred` of `SO_PEERCRED` (not exported by Swift's Glibc module).
    private struct UCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    #if os(Linux)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    #else
    static let streamType = SOCK_STREAM
    #endif

    /// `sockaddr_un` for `path`, or nil when the path does not fit (107 bytes on Linux).
    static func address(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, !bytes.contains(0) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// `socket(AF_UNIX, SOCK_STREAM)` with close-on-exec.
    static func unixSocket() -> Result<Int32, Int32> {
        let fd = socket(AF_UNIX, streamType, 0)
        guard fd >= 0 else { return .failure(errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return .success(fd)
    }

    /// `connect()` to `address`, retrying EINTR.
    static func connect(_ fd: Int32, _ address: sockaddr_un) -> Int32? {
        var address = address
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 { return nil }
            if errno == EINTR { continue }
            return errno
        }
    }

    /// `bind()` to `address`.
    static func bind(_ fd: Int32, _ address: sockaddr_un) -> Int32? {
        var address = address
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc == 0 ? nil : errno
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`.
    static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    /// `accept()` of a non-blocking, close-on-exec connection; nil with errno on failure (EAGAIN when none).
    static func accept(_ listener: Int32) -> Result<Int32, Int32> {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                setNonBlocking(fd)
                return .success(fd)
            }
            if errno == EINTR { continue }
            return .failure(errno)
        }
    }

    /// `getsockopt(SO_PEERCRED)`.
    static func peerCredentials(_ fd: Int32) -> PeerCredentials? {
        #if os(Linux)
        var credentials = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
        #else
        return nil
        #endif
    }

    /// `send(MSG_NOSIGNAL)`: a closed peer gives EPIPE instead of killing the process with SIGPIPE.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Int32> {
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return .success(n) }
            if errno == EINTR { continue }
            return .failure(errno)
        }
    }

    /// `read()`, retrying EINTR.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Int32> {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            if errno == EINTR { continue }
            return .failure(errno)
        }
    }

    /// `strerror`.
    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
