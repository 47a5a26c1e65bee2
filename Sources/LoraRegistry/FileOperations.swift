#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// Thin wrappers over the POSIX calls the registry needs for durable files (named after the C functions they
/// call, retrying `EINTR`). Errors are `FileOperations.Failure` with the path and errno; callers decide whether
/// that is a bad source or a state-directory problem.
enum FileOperations {
    /// A failed call: which, on what, and errno.
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var path: String
        var code: Int32
        var reason: String { String(cString: strerror(code)) }
        var description: String { "\(call) \(path): \(reason)" }
    }

    static func check(_ result: Int32, _ call: String, _ path: String) throws {
        if result != 0 { throw Failure(call: call, path: path, code: errno) }
    }

    /// `open(2)`, retrying EINTR.
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Failure) -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw Failure(call: "open", path: path, code: errno) }
        }
    }

    /// `fsync(2)` on a file or directory path.
    static func fsyncPath(_ path: String) throws {
        let fd = try openFile(path, O_RDONLY)
        defer { close(fd) }
        try check(fsync(fd), "fsync", path)
    }

    /// `mkdir(2)` then `chmod(2)` to `mode` exactly (the umask would otherwise narrow it). An existing directory
    /// is kept as it is (an operator or systemd may have chosen its mode); an existing non-directory is ENOTDIR.
    static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) == 0 {
            try check(chmod(path, mode), "chmod", path)
            return
        }
        guard errno == EEXIST else { throw Failure(call: "mkdir", path: path, code: errno) }
        var st = stat()
        try check(stat(path, &st), "stat", path)
        guard isDirectory(st.st_mode) else { throw Failure(call: "mkdir", path: path, code: ENOTDIR) }
    }

    /// `rename(2)`.
    static func renamePath(_ from: String, _ to: String) throws {
        try check(rename(from, to), "rename", "\(from) -> \(to)")
    }

    /// `lstat(2)`; nil when the path does not exist.
    static func lstatMode(_ path: String) throws -> mode_t? {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw Failure(call: "lstat", path: path, code: errno)
        }
        return st.st_mode
    }

    /// `stat(2)` following symlinks.
    static func statFollowing(_ path: String) throws -> stat {
        var st = stat()
        try check(stat(path, &st), "stat", path)
        return st
    }

    static func isDirectory(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFDIR }
    static func isRegular(_ mode: mode_t) -> Bool { mode & S_IFMT == S_IFREG }

    /// `realpath(3)`: the path with every symlink resolved (ELOOP for a loop).
    static func realPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw Failure(call: "realpath", path: path, code: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Entry names of a directory, without `.` and `..`.
    static func entries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw Failure(call: "opendir", path: path, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let chars = raw.bindMemory(to: CChar.self)
                return String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Removes `path` and everything under it, making read-only directories writable first. Missing is fine.
    static func removeTree(_ path: String) throws {
        guard let mode = try lstatMode(path) else { return }
        if isDirectory(mode) {
            try check(chmod(path, 0o750), "chmod", path)
            for name in try entries(path) { try removeTree(path + "/" + name) }
            try check(rmdir(path), "rmdir", path)
        } else {
            try check(unlink(path), "unlink", path)
        }
    }

    /// Which side of a copy failed.
    enum CopyFailure: Error {
        case source(Failure)
        case destination(Failure)
    }

    /// Copies the regular file `source` (symlinks followed) to a new file `destination` created with `mode`,
    /// fsyncs it, and returns the sha256 (lowercase hex) and size of the bytes written. Refuses a source that is
    /// not a regular file (a FIFO or device would block or never end).
    static func copyAndHash(from source: String, to destination: String, mode: mode_t) throws(CopyFailure) -> (sha256: String, size: Int64) {
        let input: Int32
        do { input = try openRegularFile(source) } catch { throw .source(error) }
        defer { close(input) }
        let output: Int32
        do { output = try openFile(destination, O_WRONLY | O_CREAT | O_EXCL, mode: mode) } catch { throw .destination(error) }
        defer { close(output) }
        let result: (sha256: String, size: Int64)
        do {
            result = try hashContents(of: input, path: source) { bytes in
                var written = 0
                while written < bytes.count {
                    let w = write(output, bytes.baseAddress.map { $0 + written }, bytes.count - written)
                    if w < 0 {
                        if errno == EINTR { continue }
                        throw CopyFailure.destination(Failure(call: "write", path: destination, code: errno))
                    }
                    written += w
                }
            }
        } catch let failure as CopyFailure {
            throw failure
        } catch let failure as Failure {
            throw .source(failure)
        } catch {
            throw .source(Failure(call: "read", path: source, code: EIO))
        }
        if fchmod(output, mode) != 0 { throw .destination(Failure(call: "fchmod", path: destination, code: errno)) }
        if fsync(output) != 0 { throw .destination(Failure(call: "fsync", path: destination, code: errno)) }
        return result
    }

    /// The sha256 (lowercase hex) and size of a regular file.
    static func hashFile(_ path: String) throws -> (sha256: String, size: Int64) {
        let fd = try openRegularFile(path)
        defer { close(fd) }
        return try hashContents(of: fd, path: path)
    }

    /// Opens `path` for reading, refusing anything but a regular file (symlinks followed).
    private static func openRegularFile(_ path: String) throws(Failure) -> Int32 {
        let fd = try openFile(path, O_RDONLY | O_NONBLOCK)
        var st = stat()
        if fstat(fd, &st) != 0 {
            let failure = Failure(call: "fstat", path: path, code: errno)
            close(fd)
            throw failure
        }
        guard isRegular(st.st_mode) else {
            close(fd)
            throw Failure(call: "open", path: path, code: EINVAL)
        }
        return fd
    }

    /// Reads `fd` to its end in 1 MiB chunks, hashing them and handing each to `chunk`: the one read loop of
    /// import and verify. A read error is a `Failure`; what `chunk` throws comes out as it is.
    private static func hashContents(of fd: Int32, path: String,
                                     chunk: (UnsafeRawBufferPointer) throws -> Void = { _ in }) throws -> (sha256: String, size: Int64) {
        var hasher = SHA256()
        var size: Int64 = 0
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, capacity)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(call: "read", path: path, code: errno)
            }
            if n == 0 { break }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(bufferPointer: bytes)
            try chunk(bytes)
            size += Int64(n)
        }
        return (hex(hasher.finalize()), size)
    }

    /// Lowercase hex of a digest.
    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
