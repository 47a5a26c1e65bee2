import Foundation
import LoraJSON
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// lorad started on an inherited socket by `systemd-socket-activate`, as lorad.socket starts it.
@Suite(.serialized)
struct SocketActivationTests {
    static let activate = "/usr/bin/systemd-socket-activate"

    static func activated(fdName: String?, datagram: Bool = false) throws -> (LoradProcess, NotifyListener) {
        let daemon = try LoradProcess()
        let notify = try NotifyListener(path: daemon.root.appendingPathComponent("notify").path)
        daemon.environment = ["NOTIFY_SOCKET": notify.path]
        daemon.launcher = [activate, "-l", daemon.socketPath] + (datagram ? ["--datagram"] : [])
            + (fdName.map { ["--fdname=\($0)"] } ?? []) + ["-E", "NOTIFY_SOCKET", "--"]
        return (daemon, notify)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: activate), "needs systemd-socket-activate (apt package systemd)"))
    func servesOnTheInheritedSocketAndNeverRemovesIt() throws {
        let (daemon, notify) = try Self.activated(fdName: "lorad")
        try daemon.start()
        #expect(notify.wait { $0.has("READY=1") } != nil)
        #expect(daemon.stderr.contains("inherited"), "lorad says it adopted the socket:\n\(daemon.stderr)")
        let reply = try daemon.request("generate", ["prompt": "Once upon a time", "maxTokens": 8, "temperature": 0]).result()
        #expect((reply["text"]?.stringValue ?? "").isEmpty == false)
        #expect(daemon.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: daemon.socketPath), "the socket unit owns the file: lorad must not unlink it")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: activate), "needs systemd-socket-activate (apt package systemd)"))
    func aSingleUnnamedSocketIsTakenAndAWrongNameIsRefused() throws {
        let (unnamed, _) = try Self.activated(fdName: nil)
        try unnamed.start()
        #expect(unnamed.stop() == 0)

        let (other, notify) = try Self.activated(fdName: "other")
        try other.launch()
        // Nothing runs lorad until a client connects.
        let client = try Self.connect(other.socketPath)
        #expect(other.waitForExit() == 1)
        withExtendedLifetime(client) {}
        #expect(other.stderr.contains("FileDescriptorName=lorad"), "\(other.stderr)")
        #expect(notify.messages.contains { $0.value("ERRNO") != nil })
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: activate), "needs systemd-socket-activate (apt package systemd)"))
    func aDatagramSocketIsRefused() throws {
        let (daemon, _) = try Self.activated(fdName: "lorad", datagram: true)
        try daemon.launch()
        let sender = try Self.datagramSender(daemon.socketPath)
        #expect(daemon.waitForExit() == 1)
        close(sender)
        #expect(daemon.stderr.contains("not a listening Unix stream socket"), "\(daemon.stderr)")
    }

    /// Connects once systemd-socket-activate listens (it starts lorad on the first connection).
    static func connect(_ path: String) throws -> RawConnection {
        let deadline = Date().addingTimeInterval(10)
        while true {
            if let connection = try? RawConnection(path: path) { return connection }
            if Date() > deadline { throw LoradProcess.Failure(description: "nothing listens on \(path)") }
            usleep(20_000)
        }
    }

    /// Sends one datagram to `path` once it exists (what starts lorad on a datagram socket).
    static func datagramSender(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in Array(path.utf8).prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let sent = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, "x", 1, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if sent == 1 { return fd }
            usleep(20_000)
        }
        close(fd)
        throw LoradProcess.Failure(description: "cannot send to \(path)")
    }
}
