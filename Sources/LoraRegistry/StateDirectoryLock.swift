#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exclusive `flock(2)` on `<state>/lock` that keeps a second lorad out of a state directory. The holder
/// writes its pid into the file for an operator (`cat <state>/lock`). The lock dies with the process (even on SIGKILL), so
/// a crash never leaves a stale lock; the file itself is never unlinked (that would let two holders coexist).
struct StateDirectoryLock: Sendable {
    let path: String
    private let fd: Int32

    /// Takes the lock on `path` (inside `directory`, which the refusal names) or throws `RegistryError.locked`
    /// (or `.io`).
    init(path: String, directory: String) throws {
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
            close(fd)
            if code == EWOULDBLOCK { throw RegistryError.locked(directory: directory) }
            throw RegistryError.io(path: path, reason: "flock: \(String(cString: strerror(code)))")
        }
        // Best effort: the pid only helps an operator see which process holds the directory.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        self.fd = fd
    }

    /// Releases the lock (closing the descriptor drops the flock).
    func release() {
        close(fd)
    }
}

