import Foundation
import LoraModel
@testable import LoraRegistry
import Testing

@Suite("Registry: lock, verify, broken files, startup recovery, another model")
struct RecoveryTests {
    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func secondRegistryOnTheSameDirectoryIsLocked() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let model = try RegistryTests.config("stories260K")
            let first = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(performing: {
                try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            }, throws: { error in
                guard case let RegistryError.locked(directory) = error else { return false }
                let message = "\(error)"
                return directory == state.standardizedFileURL.path && message.contains(state.path) && message.contains("another lorad")
            })
            // The state directory and its files have the documented modes.
            #expect(try RegistryTests.mode(state.path) == 0o750)
            #expect(try RegistryTests.mode(state.appendingPathComponent("registry.sqlite").path) == 0o640)
            #expect(try RegistryTests.mode(state.appendingPathComponent("lock").path) == 0o640)

            first.close()
            #expect(throws: RegistryError.closed) { try first.list() }
            let second = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(try second.list().isEmpty)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func verifyFindsChangedAndMissingFiles() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let model = try RegistryTests.config("stories260K")
            let registry = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            let dragon = try registry.importAdapter(name: "dragon", from: RegistryTests.dragon, replace: false, activeNames: [])
            _ = try registry.importAdapter(name: "dragon2", from: RegistryTests.dragon, replace: false, activeNames: [])
            let snow = try registry.importAdapter(name: "snow", from: RegistryTests.snow, replace: false, activeNames: [])
            #expect(try registry.verify(name: nil).allSatisfy(\.ok))
            #expect(throws: RegistryError.adapterNotFound(name: "nope")) { try registry.verify(name: "nope") }

            // One flipped byte in the stored weights.
            let weights = registry.contentDirectory(for: dragon).appendingPathComponent("adapter_model.safetensors")
            try Self.flipLastByte(weights)
            let outcomes = try registry.verify(name: nil)
            #expect(outcomes.map(\.name) == ["dragon", "dragon2", "snow"])
            #expect(outcomes.map(\.ok) == [false, false, true], "both names sharing the files are broken, snow is not")
            #expect(outcomes[0].problem?.contains("changed or corrupted") == true)
            #expect(try registry.record(named: "dragon")?.broken != nil)
            #expect(performing: { try registry.activatable(name: "dragon2") }, throws: { error in
                guard case RegistryError.broken(name: "dragon2", _) = error else { return false }
                return "\(error)".contains("import it again")
            })
            #expect(try registry.activatable(name: "snow") == snow)

            // Putting the bytes back clears the mark.
            try Self.flipLastByte(weights)
            #expect(try registry.verify(name: "dragon") == [VerifyOutcome(name: "dragon", ok: true, problem: nil)])
            #expect(try registry.record(named: "dragon2")?.broken == nil)

            // A missing file is found by verify and by startup recovery.
            let config = registry.contentDirectory(for: snow).appendingPathComponent("adapter_config.json")
            try Self.writable(registry.contentDirectory(for: snow)) { try FileManager.default.removeItem(at: config) }
            let missing = try registry.verify(name: "snow")
            #expect(missing.count == 1 && !missing[0].ok && missing[0].problem?.contains("adapter_config.json is missing") == true)
            registry.close()

            let reopened = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(reopened.recovery.brokenAdapters.map(\.name) == ["snow"])
            #expect(reopened.recovery.brokenAdapters.first?.reason.contains("missing") == true)
            #expect(try reopened.record(named: "snow")?.broken != nil)
            #expect(try reopened.list().count == 3, "a broken adapter is kept, to be removed by the operator")
            // Removing it deletes its directory; importing it again heals.
            try reopened.remove(name: "snow", activeNames: [])
            #expect(!FileManager.default.fileExists(atPath: reopened.contentDirectory(for: snow).path))
            let again = try reopened.importAdapter(name: "snow", from: RegistryTests.snow, replace: false, activeNames: [])
            #expect(again.broken == nil && again.digest == snow.digest)
            try RegistryTests.expectConsistent(reopened)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func importOverCorruptSharedFilesHealsThem() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let registry = try AdapterRegistry(
                stateDirectory: dir.appendingPathComponent("state"), model: try RegistryTests.config("stories260K"), logger: RegistryTests.quiet)
            let first = try registry.importAdapter(name: "one", from: RegistryTests.dragon, replace: false, activeNames: [])
            try Self.flipLastByte(registry.contentDirectory(for: first).appendingPathComponent("adapter_model.safetensors"))
            _ = try registry.verify(name: nil)
            #expect(try registry.record(named: "one")?.broken != nil)
            let second = try registry.importAdapter(name: "two", from: RegistryTests.dragon, replace: false, activeNames: [])
            #expect(second.broken == nil)
            #expect(try registry.record(named: "one")?.broken == nil, "the fresh copy replaced the corrupt one for both names")
            try RegistryTests.expectConsistent(registry)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func recoveryRemovesInterruptedImportsAndOrphans() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let model = try RegistryTests.config("stories260K")
            var registry: AdapterRegistry? = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            let kept = try #require(try registry?.importAdapter(name: "kept", from: RegistryTests.dragon, replace: false, activeNames: []))
            registry?.close()
            registry = nil

            // What a crash leaves: a half-copied import, a renamed directory whose row never got in, a read-only one.
            let interrupted = try RegistryTests.copyAdapter(RegistryTests.snow, to: state.appendingPathComponent("tmp"), as: "import-dead")
            let orphan = try RegistryTests.copyAdapter(RegistryTests.snow, to: state.appendingPathComponent("adapters"), as: try RegistryTests.digest(of: RegistryTests.snow))
            try FileManager.default.setAttributes([.posixPermissions: 0o550], ofItemAtPath: orphan.path)

            let reopened = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(reopened.recovery.removedTemporaryDirectories == [interrupted.standardizedFileURL.path])
            #expect(reopened.recovery.removedOrphanDirectories == [orphan.standardizedFileURL.path])
            #expect(reopened.recovery.brokenAdapters.isEmpty && reopened.recovery.incompatibleAdapters.isEmpty)
            #expect(try reopened.list().map(\.name) == ["kept"])
            #expect(try reopened.activatable(name: "kept") == kept)
            try RegistryTests.expectConsistent(reopened)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func anotherModelKeepsAdaptersAsIncompatible() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let stories = try RegistryTests.config("stories260K")
            let tiny = try RegistryTests.config("tiny-llama")
            var registry: AdapterRegistry? = try AdapterRegistry(stateDirectory: state, model: stories, logger: RegistryTests.quiet)
            let dragon = try #require(try registry?.importAdapter(name: "dragon", from: RegistryTests.dragon, replace: false, activeNames: []))
            try registry?.recordCommit(epoch: 3, entries: [CommittedEntry(name: "dragon", scale: 0.5)])
            registry?.close()
            registry = nil

            let other = try AdapterRegistry(stateDirectory: state, model: tiny, logger: RegistryTests.quiet)
            #expect(other.recovery.incompatibleAdapters == ["dragon"])
            let record = try #require(try other.record(named: "dragon"))
            #expect(!record.compatible && record.modelFingerprint == dragon.modelFingerprint)
            #expect(performing: { try other.activatable(name: "dragon") }, throws: { error in
                guard case RegistryError.incompatible(name: "dragon", _) = error else { return false }
                return true
            })
            // A tiny-llama adapter imports next to it; the committed set is still there for the daemon to judge.
            let attn = try other.importAdapter(name: "attn", from: RegistryTests.adapter("tiny-llama", "attn-r8"), replace: false, activeNames: [])
            #expect(attn.compatible)
            #expect(try other.committedSet()?.entries == [CommittedEntry(name: "dragon", scale: 0.5)])
            other.close()

            let back = try AdapterRegistry(stateDirectory: state, model: stories, logger: RegistryTests.quiet)
            #expect(try back.activatable(name: "dragon").compatible)
            #expect(back.recovery.incompatibleAdapters == ["attn"])
            try RegistryTests.expectConsistent(back)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func commitsAreKeptWithAShortHistory() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let model = try RegistryTests.config("stories260K")
            var registry: AdapterRegistry? = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(try registry?.committedSet() == nil)
            for epoch in UInt64(1)...40 {
                try registry?.recordCommit(epoch: epoch, entries: [CommittedEntry(name: "a", scale: Float(epoch) / 4), CommittedEntry(name: "b", scale: -1)])
            }
            try registry?.recordCommit(epoch: UInt64.max, entries: [])
            #expect(throws: RegistryError.self) { try registry?.recordCommit(epoch: 99, entries: [CommittedEntry(name: "a", scale: .nan)]) }
            registry?.close()
            registry = nil

            let reopened = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            let last = try #require(try reopened.committedSet())
            #expect(last.epoch == UInt64.max && last.entries.isEmpty)
            let history = try reopened.history(limit: 100)
            #expect(history.count == RegistryDatabase.historyLimit)
            #expect(history.map(\.epoch) == [UInt64.max] + (10...40).reversed().map(UInt64.init))
            #expect(history[1].entries == [CommittedEntry(name: "a", scale: 10), CommittedEntry(name: "b", scale: -1)])
            #expect(try reopened.history(limit: 2).count == 2)
        }
    }

    /// Flips the last byte of a stored (read-only) file in place.
    static func flipLastByte(_ url: URL) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: url.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o440], ofItemAtPath: url.path) }
        var data = try Data(contentsOf: url)
        try #require(!data.isEmpty)
        data[data.count - 1] ^= 0xFF
        try data.write(to: url)
    }

    /// Runs `body` with a read-only directory made writable for it.
    static func writable(_ directory: URL, _ body: () throws -> Void) throws {
        try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: directory.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o550], ofItemAtPath: directory.path) }
        try body()
    }
}
