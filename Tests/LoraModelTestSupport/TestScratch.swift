import Foundation

/// One scratch directory per test process, removed when the process exits: tests that write temporary models
/// and adapters put them here instead of leaving them in /tmp.
public enum TestScratch {
    /// The process's scratch directory (created on first use).
    public static var root: URL { scratchRoot }

    /// A fresh directory under the scratch root, its name starting with `prefix`.
    public static func directory(_ prefix: String) throws -> URL {
        let dir = scratchRoot.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

private let scratchRoot: URL = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratchRoot) }
    return root
}()
