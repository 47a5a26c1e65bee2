/// Who is at the other end of a Unix socket connection, read with `SO_PEERCRED` when it was accepted.
public struct PeerCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The peer's process id.
    public var pid: Int32
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's group id.
    public var gid: UInt32

    /// Credentials with the given ids.
    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    /// "pid P uid U gid G".
    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}
