import Foundation
import Testing

/// `lorctl [COMMAND...] --help` for every command, compared with the texts stored in Snapshots/lorctl. The
/// commands are found by walking the SUBCOMMANDS sections of the help itself, so a new command without a snapshot
/// fails. `LORCTL_UPDATE_SNAPSHOTS=1 swift test --filter LorctlHelpSnapshotTests` rewrites them.
struct LorctlHelpSnapshotTests {
    static let directory = LorctlRunner.repositoryRoot.appendingPathComponent("Tests/LoraDaemonTests/Snapshots/lorctl")
    static var updating: Bool { ProcessInfo.processInfo.environment["LORCTL_UPDATE_SNAPSHOTS"] == "1" }

    /// The names under SUBCOMMANDS in a help text (`list (default)` counts as `list`).
    static func subcommands(in help: String) -> [String] {
        var names: [String] = []
        var inSection = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "SUBCOMMANDS:" {
                inSection = true
            } else if inSection {
                guard line.hasPrefix("  ") else { break }
                // Only the command column: continuation lines of a long abstract are indented further.
                if !line.hasPrefix("   "), let name = line.split(separator: " ").first { names.append(String(name).trimmingCharacters(in: [","])) }
            }
        }
        return names.filter { $0 != "help" }
    }

    @Test func helpForEveryCommandMatchesItsSnapshot() throws {
        var pending: [[String]] = [[]]
        var seen: [String] = []
        var mismatches: [String] = []
        while let path = pending.first {
            pending.removeFirst()
            let run = try LorctlRunner.run(path + ["--help"])
            #expect(run.status == 0, "lorctl \(path.joined(separator: " ")) --help exits 0")
            let name = (["lorctl"] + path).joined(separator: "-")
            seen.append(name + ".txt")
            let file = Self.directory.appendingPathComponent(name + ".txt")
            if Self.updating {
                try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
                try run.stdout.write(to: file, atomically: true, encoding: .utf8)
            } else {
                let expected = try? String(contentsOf: file, encoding: .utf8)
                if expected != run.stdout { mismatches.append(name) }
                #expect(expected == run.stdout, "help of lorctl \(path.joined(separator: " ")) differs from \(file.path); LORCTL_UPDATE_SNAPSHOTS=1 rewrites it")
            }
            pending += Self.subcommands(in: run.stdout).map { path + [$0] }
        }
        #expect(seen.count >= 19, "every command was visited: \(seen)")
        let stored = (try? FileManager.default.contentsOfDirectory(atPath: Self.directory.path)) ?? []
        #expect(Set(stored) == Set(seen), "one snapshot per command, none stale")
        #expect(mismatches.isEmpty)
    }
}
