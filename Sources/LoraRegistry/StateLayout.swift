import Foundation

/// The paths inside a state directory:
///
///     <state>/lock                      flock(2) held by the running lorad, holds its pid
///     <state>/registry.sqlite (-wal, -shm)   the database
///     <state>/adapters/<digest>/        read-only copies of adapter files, one directory per content
///     <state>/tmp/                      imports in progress (same file system, so the final rename is atomic)
struct StateLayout: Sendable {
    let root: String

    init(root: URL) {
        self.root = root.standardizedFileURL.path
    }

    var lock: String { root + "/lock" }
    var database: String { root + "/registry.sqlite" }
    var adapters: String { root + "/adapters" }
    var temporary: String { root + "/tmp" }

    func content(_ digest: String) -> String { adapters + "/" + digest }

    /// Mode of the state directory and of directories the registry creates in it.
    static let directoryMode: mode_t = 0o750
    /// Mode of files the registry writes (database, lock, files while importing).
    static let fileMode: mode_t = 0o640
    /// Mode of stored adapter files and their directories once in place: read-only.
    static let storedFileMode: mode_t = 0o440
    static let storedDirectoryMode: mode_t = 0o550
}
