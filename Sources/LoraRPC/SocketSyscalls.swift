import Glibc
import Synchronization

/// An `errno` value returned by a failed system call.
struct SystemErrno: Error, Equatable {
    /// The code (`ENOENT`, `EAGAIN`, ...).
    var code: Int32

    /// The code of the last failed call.
    static var current: SystemErrno { SystemErrno(code: errno) }

    /// `strerror`.
    var reason: String { String(cString: strerror(code)) }
}

/// Thin wrappers over the socket calls the server and client make (Linux); each names the C function it calls,
/// returns `SystemErrno` on failure and retries EINTR where a retry is right.
enum SocketSyscalls {
    /// `struct ucred` of `SO_PEERCRED` (not exported by Swift's Glibc module).
    private struct UCred {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    static let streamType = Int32(SOCK_STREAM.rawValue)

    /// `sockaddr_un` for `path`, or nil when the path does not fit (107 bytes on Linux) or holds a NUL.
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

    /// `socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`.
    static func unixSocket() -> Result<Int32, SystemErrno> {
        let fd = socket(AF_UNIX, streamType | Int32(SOCK_CLOEXEC.rawValue), 0)
        return fd >= 0 ? .success(fd) : .failure(.current)
    }

    /// `connect()` to `address`, retrying EINTR.
    static func connect(_ fd: Int32, _ address: sockaddr_un) -> SystemErrno? {
        var address = address
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 { return nil }
            if errno == EINTR { continue }
            return .current
        }
    }

    /// `bind()` to `address`.
    static func bind(_ fd: Int32, _ address: sockaddr_un) -> SystemErrno? {
        var address = address
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc == 0 ? nil : .current
    }

    /// `listen()`.
    static func listen(_ fd: Int32, backlog: Int32) -> SystemErrno? {
        Glibc.listen(fd, backlog) == 0 ? nil : .current
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)` and `fcntl(F_SETFD, FD_CLOEXEC)`.
    static func setNonBlockingCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    /// `accept()` then non-blocking and close-on-exec (`accept4` is not exported without _GNU_SOURCE), retrying
    /// EINTR (EAGAIN when none is waiting).
    static func accept(_ listener: Int32) -> Result<Int32, SystemErrno> {
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                setNonBlockingCloseOnExec(fd)
                return .success(fd)
            }
            if errno == EINTR { continue }
            return .failure(.current)
        }
    }

    /// `getsockopt(SO_PEERCRED)`.
    static func peerCredentials(_ fd: Int32) -> PeerCredentials? {
        var credentials = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
    }

    /// `getsockopt(SOL_SOCKET, option)` of an `int` option.
    static func intOption(_ fd: Int32, _ option: Int32) -> Result<Int32, SystemErrno> {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, option, &value, &length) == 0 else { return .failure(.current) }
        return .success(value)
    }

    /// `send(MSG_NOSIGNAL | MSG_DONTWAIT)`: a closed peer gives EPIPE instead of killing the process with
    /// SIGPIPE, and a full socket gives EAGAIN even if the descriptor is blocking.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, wait: Bool = false) -> Result<Int, SystemErrno> {
        let flags = Int32(MSG_NOSIGNAL) | (wait ? 0 : Int32(MSG_DONTWAIT))
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, flags)
            if n >= 0 { return .success(n) }
            if errno == EINTR { continue }
            return .failure(.current)
        }
    }

    /// `read()`, retrying EINTR.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Result<Int, SystemErrno> {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return .success(n) }
            if errno == EINTR { continue }
            return .failure(.current)
        }
    }

    /// `poll()` of one descriptor for `events`; true when ready, false on timeout (`milliseconds` < 0 waits
    /// for ever).
    static func poll(_ fd: Int32, events: Int16, milliseconds: Int32) -> Result<Bool, SystemErrno> {
        var entry = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let rc = Glibc.poll(&entry, 1, milliseconds)
            if rc >= 0 { return .success(rc > 0) }
            if errno == EINTR { continue }
            return .failure(.current)
        }
    }

    /// `lstat()`: the file's type bits, device and inode, or nil with errno.
    static func fileIdentity(_ path: String) -> Result<(isSocket: Bool, device: UInt64, inode: UInt64), SystemErrno> {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .failure(.current) }
        return .success(((info.st_mode & S_IFMT) == S_IFSOCK, UInt64(info.st_dev), UInt64(info.st_ino)))
    }

    /// `fchmod()`.
    static func fchmod(_ fd: Int32, _ mode: UInt32) -> SystemErrno? {
        Glibc.fchmod(fd, mode_t(mode)) == 0 ? nil : .current
    }

    /// `chmod()`.
    static func chmod(_ path: String, _ mode: UInt32) -> SystemErrno? {
        Glibc.chmod(path, mode_t(mode)) == 0 ? nil : .current
    }

    /// `unlink()`.
    static func unlink(_ path: String) -> SystemErrno? {
        Glibc.unlink(path) == 0 ? nil : .current
    }

    /// `shutdown(SHUT_WR)`: the peer reads end of file after what was sent.
    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// `close()` (not retried on EINTR: on Linux the descriptor is released anyway). A close that fails with
    /// EBADF is counted in `closesOfUnopenedDescriptors`.
    static func close(_ fd: Int32) {
        if Glibc.close(fd) != 0 && errno == EBADF { closesOfUnopenedDescriptors.add(1, ordering: .relaxed) }
    }

    /// How many `close` calls of this process found the descriptor not open. Each one is an ownership bug: the
    /// same number closed twice, and had another thread opened a file in between, the second close would have
    /// closed that file (a client's socket, the registry's database). Tests check that it stays at zero.
    static let closesOfUnopenedDescriptors = Atomic<Int>(0)
}
