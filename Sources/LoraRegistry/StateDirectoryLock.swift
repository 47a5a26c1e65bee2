#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exclusive `flock(2)` on `<state>/lock` that keeps a second lorad out of a state directory. The holder
/// writes its pid into the file so the refusal can name it. The lock dies with the process (even on SIGKILL), so
/// a crash never leaves a stale lock; the file itself is never unlinked (that would let two holders coexist).
struct StateDirectoryLock: Sendable {
    let path: String
    private let fd: Int32

    /// Takes the lock or throws `RegistryError.locked` (or `.io`).
    init(path: String) throws {
        self.path = path
        let fd: Int32
        do { fd = try FileOperations.openFile(path, O_RDWR | O_CREAT, mode: 0o640) } catch {
            throw RegistryError.io(path: path, reason: error.reason)
        }
        guard fchmod(fd, 0o640) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RegistryError.io(path: path, reason: reason)
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            let holder = Self.readPID(fd)
            close(fd)
            if code == EWOULDBLOCK { throw RegistryError.locked(path: path, pid: holder) }
            throw RegistryError.io(path: path, reason: "flock: \(String(cString: strerror(code)))")
        }
        // Best effort: the pid only improves the message a second process prints.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        self.fd = fd
    }

    /// Releases the lock (closing the descriptor drops the flock).
    func release() {
        close(fd)
    }

    private static func readPID(_ fd: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: bytes[0..<n], as: UTF8.self).trimmingWhitespace
        return Int32(text)
    }
}

private extension String {
    var trimmingWhitespace: String {
        String(unicodeScalars.filter { !$0.properties.isWhitespace })
    }
}
