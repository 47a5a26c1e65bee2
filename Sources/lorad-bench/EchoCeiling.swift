import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The transport's ceiling for the rpc benchmark: request/reply round trips per second over a Unix stream
/// socket between two threads per connection that do nothing but frame lines (a blocking thread per connection,
/// no JSON, no dispatch). What lorad adds on top of that is its own cost.
enum EchoCeiling {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func measure(connections: Int, requestBytes: Int, replyBytes: Int, seconds: Double, root: URL) throws -> Double {
        let path = root.appendingPathComponent("echo-\(connections).sock").path
        let listener = try listen(path)
        defer { close(listener); unlink(path) }
        let request = [UInt8](repeating: UInt8(ascii: "q"), count: requestBytes - 1) + [0x0A]
        let reply = [UInt8](repeating: UInt8(ascii: "r"), count: replyBytes - 1) + [0x0A]
        let count = Atomic<Int>(0)
        let start = Clock.now()
        let deadline = start + UInt64(seconds * 1e9)
        let group = DispatchGroup()
        for _ in 0..<connections {
            let client = try connect(path)
            let server = accept(listener, nil, nil)
            guard server >= 0 else { throw Failure(description: "accept: errno \(errno)") }
            group.enter()
            Thread {
                // The echo side: answers each request line with a reply line, until the client closes.
                while readLine(server, length: requestBytes) { writeAll(server, reply) }
                close(server)
            }.start()
            Thread {
                var done = 0
                while Clock.now() < deadline {
                    writeAll(client, request)
                    guard readLine(client, length: replyBytes) else { break }
                    done += 1
                }
                count.add(done, ordering: .relaxed)
                close(client)
                group.leave()
            }.start()
        }
        group.wait()
        return Double(count.load(ordering: .relaxed)) / Clock.seconds(since: start)
    }

    static func listen(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try socketAddress(path)
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, Glibc.listen(fd, 256) == 0 else { throw Failure(description: "echo listener on \(path): errno \(errno)") }
        return fd
    }

    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try socketAddress(path)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw Failure(description: "echo connect: errno \(errno)") }
        return fd
    }

    static func socketAddress(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        return address
    }

    /// Reads exactly one line of `length` bytes (the benchmark's messages have fixed sizes); false at EOF.
    static func readLine(_ fd: Int32, length: Int) -> Bool {
        var buffer = [UInt8](repeating: 0, count: length)
        var got = 0
        while got < length {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, length - got) }
            if n <= 0 { return false }
            got += n
        }
        return true
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}
