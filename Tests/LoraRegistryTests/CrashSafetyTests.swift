import Foundation
import LoraModel
@testable import LoraRegistry
import Testing

/// Crash safety for real: this test binary is started again as a child (`CrashChild`) that imports, removes and
/// records commits in a loop, printing what it starts and what returned; the parent kills it with SIGKILL at a
/// random moment, reopens the state directory and checks it against the acknowledgements.
@Suite("Registry: crash safety under SIGKILL")
struct CrashSafetyTests {
    static let rounds = 110

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage), .timeLimit(.minutes(3)))
    func killedAtRandomMomentsLeavesAConsistentRegistry() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let model = try RegistryTests.config("stories260K")
            _ = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: CrashChild.dragonCopy)
            let sourceDigests = [
                "dragon": try RegistryTests.digest(of: RegistryTests.dragon), "snow": try RegistryTests.digest(of: RegistryTests.snow),
                CrashChild.dragonCopy: try RegistryTests.digest(of: RegistryTests.dragon),
            ]
            var expected = Expectation()
            var random = SplitMix(seed: UInt64(Date().timeIntervalSince1970 * 1000))
            var acknowledged = 0
            var killedMidOperation = 0

            for round in 0..<Self.rounds {
                // One round in eight dies while opening (recovery), the rest at up to 60 ms into the loop.
                let duringOpen = random.next() % 8 == 0
                let delay = duringOpen ? random.next() % 15_000 : random.next() % 60_000
                let lines = try Self.runChildAndKill(directory: dir, seed: random.next(), delayMicroseconds: UInt32(delay), afterOpening: duringOpen)
                let context = Comment(rawValue: "round \(round), \(duringOpen ? "during open" : "in the loop") after \(delay) µs; child said:\n\(lines.suffix(6).joined(separator: "\n"))")
                #expect(!lines.contains { $0.hasPrefix("FAIL") }, context)

                let registry = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
                try RegistryTests.expectConsistent(registry)
                let actual = Dictionary(uniqueKeysWithValues: try registry.list().map { ($0.name, $0.digest) })
                let committed = try registry.committedSet().map { Commit(epoch: $0.epoch, entries: $0.entries) }
                let problems = expected.check(lines: lines, actualAdapters: actual, actualCommit: committed, sourceDigests: sourceDigests)
                #expect(problems.isEmpty, "\(problems.joined(separator: "; ")); \(context.rawValue)")
                acknowledged += lines.filter { $0.hasPrefix("ACK") }.count
                if lines.last?.hasPrefix("BEGIN") == true { killedMidOperation += 1 }
                // Take what is on disk as the starting point of the next round (the in-flight operation resolved).
                expected = Expectation(adapters: actual, commit: committed)
                registry.close()
                if !problems.isEmpty { break }
            }
            // The loop did real work between the kills (not only startups).
            #expect(acknowledged >= Self.rounds, "only \(acknowledged) operations were acknowledged in \(Self.rounds) rounds")
            // Most kills land inside an operation, not between two.
            #expect(killedMidOperation >= Self.rounds / 2, "only \(killedMidOperation) of \(Self.rounds) kills landed inside an operation")
        }
    }

    /// The child's side: runs only when the parent starts this binary with `CrashChild.environmentKey` set.
    @Test(.enabled(if: CrashChild.directory != nil, "runs only as the child process of the crash-safety test"))
    func registryCrashChildLoop() throws {
        let directory = try #require(CrashChild.directory)
        let seed = UInt64(ProcessInfo.processInfo.environment[CrashChild.seedKey] ?? "") ?? 1
        let finished = CrashChild.run(directory: URL(fileURLWithPath: directory), seed: seed)
        #expect(finished, "the child loop failed; see its FAIL line")
    }

    /// Starts the child, waits for its `OPENING` (when `afterOpening`) or `READY` line, sleeps `delayMicroseconds`,
    /// kills it with SIGKILL and returns every protocol line it printed.
    static func runChildAndKill(directory: URL, seed: UInt64, delayMicroseconds: UInt32, afterOpening: Bool) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.testExecutable())
        process.arguments = ["--testing-library", "swift-testing", "--filter", "registryCrashChildLoop"]
        var environment = ProcessInfo.processInfo.environment
        environment[CrashChild.environmentKey] = directory.path
        environment[CrashChild.seedKey] = String(seed)
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = pipe.fileHandleForReading
        var buffer = Data()
        let marker = afterOpening ? "\(CrashChild.prefix)OPENING\n" : "\(CrashChild.prefix)READY\n"
        let deadline = Date().addingTimeInterval(30)
        while String(decoding: buffer, as: UTF8.self).range(of: marker) == nil {
            let chunk = reader.availableData
            if chunk.isEmpty || Date() > deadline { break }
            buffer.append(chunk)
        }
        usleep(delayMicroseconds)
        kill(process.processIdentifier, SIGKILL)
        buffer.append(reader.readDataToEndOfFile())
        process.waitUntilExit()
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix(CrashChild.prefix) ? String(line.dropFirst(CrashChild.prefix.count)) : nil
        }
    }

    /// This test binary (the `.xctest` bundle's executable on Linux).
    static func testExecutable() throws -> String {
        try FileOperations.realPath("/proc/self/exe")
    }

    struct Commit: Equatable, CustomStringConvertible {
        var epoch: UInt64
        var entries: [CommittedEntry]
        var description: String { "epoch \(epoch) [\(entries.map { "\($0.name):\($0.scale)" }.joined(separator: ","))]" }
    }

    /// What the registry must hold after a kill, from the state before the round and the child's lines.
    struct Expectation {
        var adapters: [String: String] = [:]
        var commit: Commit?

        /// Problems found, empty when the registry is what the acknowledgements say, allowing the one operation
        /// that had begun but not returned to have happened or not.
        func check(lines: [String], actualAdapters: [String: String], actualCommit: Commit?, sourceDigests: [String: String]) -> [String] {
            var adapters = self.adapters
            var commit = self.commit
            var inFlightAdapter: (name: String, after: String?)?
            var inFlightCommit: Commit?
            var problems: [String] = []
            for line in lines {
                let words = line.split(separator: " ").map(String.init)
                switch words.first {
                case "BEGIN" where words.count >= 3:
                    inFlightAdapter = nil
                    inFlightCommit = nil
                    switch words[1] {
                    case "import" where words.count == 4: inFlightAdapter = (words[2], sourceDigests[words[3]])
                    case "remove": inFlightAdapter = (words[2], nil)
                    case "commit": inFlightCommit = Commit(epoch: UInt64(words[2]) ?? 0, entries: CrashChild.parseEntries(words.count > 3 ? words[3] : "-"))
                    default: problems.append("unexpected line \(line)")
                    }
                case "ACK" where words.count >= 3:
                    switch words[1] {
                    case "import" where words.count == 4: adapters[words[2]] = words[3]
                    case "remove": adapters[words[2]] = nil
                    case "commit": commit = inFlightCommit
                    default: problems.append("unexpected line \(line)")
                    }
                    inFlightAdapter = nil
                    inFlightCommit = nil
                case "REFUSED":
                    inFlightAdapter = nil
                    inFlightCommit = nil
                default:
                    break
                }
            }
            var allowedAdapters = [adapters]
            if let inFlightAdapter {
                var after = adapters
                after[inFlightAdapter.name] = inFlightAdapter.after
                allowedAdapters.append(after)
            }
            if !allowedAdapters.contains(actualAdapters) {
                problems.append("adapters \(actualAdapters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.prefix(8))" }) are none of the acknowledged states")
            }
            let allowedCommits = [commit] + (inFlightCommit.map { [$0] } ?? [])
            if !allowedCommits.contains(actualCommit) {
                problems.append("committed set \(actualCommit?.description ?? "none") is neither the last acknowledged \(commit?.description ?? "none") nor the one in flight")
            }
            return problems
        }
    }
}

/// A small deterministic generator (SplitMix64) so a failing child can be replayed from its seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
