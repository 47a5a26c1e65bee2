import CSystemd
import Foundation

/// systemd socket activation (`sd_listen_fds_with_names(3)`): the listening socket lorad inherits from
/// lorad.socket (or `systemd-socket-activate`) instead of creating one.
public enum SocketActivation {
    /// The descriptors passed with `$LISTEN_FDS`, and their names from `$LISTEN_FDNAMES` ("unknown" when the
    /// sender gave none). Reads and clears the variables (lorad starts no children that should see them).
    public static func inheritedDescriptors() -> [(fd: Int32, name: String)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(count) { free(names[i]) }
                free(names)
            }
        }
        return (0..<Int(count)).map { i in
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            return (SD_LISTEN_FDS_START + Int32(i), name)
        }
    }

    /// Picks the descriptor named `name` among `inherited`; a single unnamed one ("unknown") is taken too.
    /// Returns nil when nothing was inherited; throws when descriptors were passed and none fits.
    public static func choose(_ inherited: [(fd: Int32, name: String)], name: String) throws -> Int32? {
        guard !inherited.isEmpty else { return nil }
        if let match = inherited.first(where: { $0.name == name }) { return match.fd }
        if inherited.count == 1, inherited[0].name == "unknown" { return inherited[0].fd }
        let names = inherited.map { "\($0.name) (fd \($0.fd))" }.joined(separator: ", ")
        throw DaemonStartError.socket(
            reason: "socket activation passed \(names) and none is named \"\(name)\"; set FileDescriptorName=\(name) in the socket unit, or server.fd_name in the configuration",
            errno: EBADF)
    }
}
