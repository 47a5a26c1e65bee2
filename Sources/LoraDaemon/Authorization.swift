import Foundation

/// Who may call the mutating methods (`addAdapter`, `removeAdapter`, `setLoras`, `reload`, cancelling others'
/// jobs): root, lorad's own uid, and the users and groups the configuration names. Names are resolved when the
/// policy is built (at start and on reload); a peer's supplementary groups are looked up from its user entry,
/// since SO_PEERCRED carries only the primary gid.
public struct Authorization: Sendable, Equatable {
    public private(set) var adminUIDs: Set<UInt32>
    public private(set) var adminGIDs: Set<UInt32>
    /// Names in the configuration that match no user or group (reported, not fatal: the user may be created later).
    public private(set) var unresolved: [String] = []

    /// Resolves `users` and `groups` (names or numeric ids).
    public init(users: [String], groups: [String], daemonUID: UInt32 = getuid()) {
        adminUIDs = [0, daemonUID]
        adminGIDs = []
        for user in users {
            if let uid = UInt32(user) ?? Self.userID(name: user) { adminUIDs.insert(uid) } else { unresolved.append("user \(user)") }
        }
        for group in groups {
            if let gid = UInt32(group) ?? Self.groupID(name: group) { adminGIDs.insert(gid) } else { unresolved.append("group \(group)") }
        }
    }

    /// Whether the peer with `uid` and primary `gid` is an admin.
    public func isAdmin(uid: UInt32, gid: UInt32) -> Bool {
        if adminUIDs.contains(uid) || adminGIDs.contains(gid) { return true }
        guard !adminGIDs.isEmpty else { return false }
        return Self.supplementaryGroups(uid: uid, gid: gid).contains { adminGIDs.contains($0) }
    }

    /// The groups of the user with `uid`, from the user database (empty if the uid has no entry). Uses the
    /// reentrant lookups: handlers on different threads may ask at once.
    static func supplementaryGroups(uid: UInt32, gid: UInt32) -> [UInt32] {
        guard let name = userName(uid: uid) else { return [] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, gid, &groups, &count) >= 0 else { return [] }
        }
        return Array(groups.prefix(Int(count)))
    }

    /// The login name of `uid`, or nil.
    static func userName(uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }

    /// The uid of the user `name`, or nil.
    static func userID(name: String) -> UInt32? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.pw_uid
    }

    /// The gid of the group `name`, or nil.
    static func groupID(name: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 64 << 10)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
