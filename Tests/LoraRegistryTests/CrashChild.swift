import Foundation
@testable import LoraRegistry
import Testing

/// The child process of the crash-safety test: opens the registry in `<directory>/state` and, until killed,
/// imports, replaces, removes and commits at random, writing one line per step to stdout with `write(2)` (so a
/// line is either wholly in the pipe or not at all when SIGKILL arrives):
///
///     @@ OPENING / @@ READY
///     @@ BEGIN import <name> <source>     @@ ACK import <name> <digest>
///     @@ BEGIN remove <name>              @@ ACK remove <name>
///     @@ BEGIN commit <epoch> <entries>   @@ ACK commit <epoch>
///     @@ REFUSED <error>                  (an expected refusal: the name is active, or absent)
///     @@ FAIL <error>                     (anything else; the parent fails the test)
///
/// A BEGIN is written before the call starts, an ACK after it returned, so the registry may differ from the
/// acknowledgements only by the last BEGIN.
enum CrashChild {
    static let environmentKey = "LORA_REGISTRY_CRASH_CHILD"
    static let seedKey = "LORA_REGISTRY_CRASH_SEED"
    static let prefix = "@@ "
    /// A copy of dragon at another path, so imports share content across sources.
    static let dragonCopy = "dragon-copy"
    static let names = ["a", "b", "c", "d"]
    static let scales: [Float] = [0.25, 0.5, 1, 1.5, -0.75]

    static var directory: String? { ProcessInfo.processInfo.environment[environmentKey] }

    /// Runs the loop until killed (or for at most 20 s, should the parent be gone); false after a FAIL.
    static func run(directory: URL, seed: UInt64) -> Bool {
        var random = SplitMix(seed: seed)
        let sources = ["dragon": RegistryTests.dragon, "snow": RegistryTests.snow, dragonCopy: directory.appendingPathComponent(dragonCopy)]
        let sourceKeys = sources.keys.sorted()
        let stop = Date().addingTimeInterval(20)
        do {
            say("OPENING")
            let registry = try AdapterRegistry(
                stateDirectory: directory.appendingPathComponent("state"), model: try RegistryTests.config("stories260K"), logger: RegistryTests.quiet)
            var last = try registry.committedSet()
            say("READY")
            while Date() < stop {
                let active = Set(last?.entries.map(\.name) ?? [])
                let name = names[Int(random.next() % UInt64(names.count))]
                do {
                    switch random.next() % 20 {
                    case 0..<9:
                        let key = sourceKeys[Int(random.next() % UInt64(sourceKeys.count))]
                        say("BEGIN import \(name) \(key)")
                        let record = try registry.importAdapter(name: name, from: sources[key] ?? directory, replace: true, activeNames: active)
                        say("ACK import \(name) \(record.digest)")
                    case 9..<12:
                        say("BEGIN remove \(name)")
                        try registry.remove(name: name, activeNames: active)
                        say("ACK remove \(name)")
                    default:
                        let present = try registry.list().map(\.name).filter { _ in random.next() % 2 == 0 }
                        let entries = present.map { CommittedEntry(name: $0, scale: scales[Int(random.next() % UInt64(scales.count))]) }
                        let epoch = (last?.epoch ?? 0) + 1
                        say("BEGIN commit \(epoch) \(format(entries))")
                        try registry.recordCommit(epoch: epoch, entries: entries)
                        say("ACK commit \(epoch)")
                        last = CommittedSet(epoch: epoch, entries: entries, committedAt: Date())
                    }
                } catch RegistryError.adapterActive, RegistryError.adapterNotFound {
                    say("REFUSED")
                }
            }
            return true
        } catch {
            say("FAIL \(error)".replacingOccurrences(of: "\n", with: " "))
            return false
        }
    }

    /// `name:scale,name:scale`, or `-` for none.
    static func format(_ entries: [CommittedEntry]) -> String {
        entries.isEmpty ? "-" : entries.map { "\($0.name):\($0.scale)" }.joined(separator: ",")
    }

    static func parseEntries(_ text: String) -> [CommittedEntry] {
        guard text != "-" else { return [] }
        return text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            return CommittedEntry(name: String(parts.first ?? ""), scale: parts.count == 2 ? Float(String(parts[1])) ?? .nan : .nan)
        }
    }

    /// One line to stdout in a single `write(2)`.
    static func say(_ text: String) {
        let bytes = Array((prefix + text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}
