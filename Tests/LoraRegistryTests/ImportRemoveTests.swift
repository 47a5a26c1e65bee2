import Foundation
import LoraModel
@testable import LoraRegistry
import Synchronization
import Testing

@Suite("Registry: import, list, remove, replace, dedup")
struct ImportRemoveTests {
    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func importListAndLoadBack() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let model = try RegistryTests.config("stories260K")
            let registry = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(registry.recovery.isClean)
            #expect(try registry.list().isEmpty)

            let steps = StepLog()
            let record = try registry.importAdapter(
                name: "dragon", from: RegistryTests.dragon, replace: false, activeNames: [], progress: { steps.append($0) })
            #expect(steps.all == [.copying, .hashing, .validating, .committing])
            #expect(record.name == "dragon")
            #expect(record.digest == (try RegistryTests.digest(of: RegistryTests.dragon)))
            #expect(record.compatible && record.broken == nil)
            #expect(record.modelFingerprint == ModelFingerprint(config: model).value)
            let source = try LoraAdapter(directory: RegistryTests.dragon, model: model, name: nil)
            #expect(record.rank == source.config.rank && record.alpha == source.config.alpha && record.useRSLoRA == source.config.useRSLoRA)
            #expect(!record.targetModules.isEmpty)
            #expect(record.sizeBytes == Int64(try Self.size(of: RegistryTests.dragon)))
            #expect(try registry.list() == [record])
            #expect(try registry.record(named: "dragon") == record)
            #expect(try registry.record(named: "snow") == nil)

            // The stored copy is read-only, in adapters/<digest>/, and loads like the source.
            let content = registry.contentDirectory(for: record)
            #expect(content.path == state.appendingPathComponent("adapters/\(record.digest)").path)
            #expect(try RegistryTests.mode(content.path) == 0o550)
            #expect(try RegistryTests.mode(content.appendingPathComponent("adapter_model.safetensors").path) == 0o440)
            let loaded = try LoraAdapter(directory: content, model: model, name: record.name)
            #expect(loaded.config == source.config)
            #expect(Set(loaded.modules.keys) == Set(source.modules.keys))
            #expect(try registry.activatable(name: "dragon") == record)
            #expect(throws: RegistryError.adapterNotFound(name: "nope")) { try registry.activatable(name: "nope") }

            // Survives a reopen.
            registry.close()
            let reopened = try AdapterRegistry(stateDirectory: state, model: model, logger: RegistryTests.quiet)
            #expect(try reopened.list() == [record])
            #expect(reopened.recovery.isClean)
            try RegistryTests.expectConsistent(reopened)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func existingNameReplaceAndActive() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let registry = try AdapterRegistry(stateDirectory: state, model: try RegistryTests.config("stories260K"), logger: RegistryTests.quiet)
            let dragon = try registry.importAdapter(name: "a", from: RegistryTests.dragon, replace: false, activeNames: [])
            #expect(throws: RegistryError.adapterExists(name: "a")) {
                try registry.importAdapter(name: "a", from: RegistryTests.snow, replace: false, activeNames: [])
            }
            #expect(throws: RegistryError.adapterActive(name: "a")) {
                try registry.importAdapter(name: "a", from: RegistryTests.snow, replace: true, activeNames: ["a"])
            }
            #expect(try registry.list() == [dragon])
            #expect(RegistryTests.entries(state.appendingPathComponent("tmp")).isEmpty)

            let snow = try registry.importAdapter(name: "a", from: RegistryTests.snow, replace: true, activeNames: ["b"])
            #expect(snow.digest != dragon.digest)
            #expect(try registry.list() == [snow])
            // The replaced content had no other name: its directory is gone.
            #expect(RegistryTests.entries(state.appendingPathComponent("adapters")) == [snow.digest])
            try RegistryTests.expectConsistent(registry)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func sameContentIsSharedAndRemovedWithItsLastName() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let adapters = state.appendingPathComponent("adapters")
            let registry = try AdapterRegistry(stateDirectory: state, model: try RegistryTests.config("stories260K"), logger: RegistryTests.quiet)
            let first = try registry.importAdapter(name: "dragon", from: RegistryTests.dragon, replace: false, activeNames: [])
            // Same bytes from another place: shared directory.
            let copy = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "elsewhere")
            let steps = StepLog()
            let second = try registry.importAdapter(name: "dragon.v2", from: copy, replace: false, activeNames: [], progress: { steps.append($0) })
            #expect(steps.all.contains(.deduplicated))
            #expect(second.digest == first.digest)
            #expect(RegistryTests.entries(adapters) == [first.digest])
            #expect(try registry.list().map(\.name) == ["dragon", "dragon.v2"])

            #expect(throws: RegistryError.adapterActive(name: "dragon")) { try registry.remove(name: "dragon", activeNames: ["dragon"]) }
            #expect(throws: RegistryError.adapterNotFound(name: "missing")) { try registry.remove(name: "missing", activeNames: []) }
            try registry.remove(name: "dragon", activeNames: ["dragon.v2"])
            #expect(RegistryTests.entries(adapters) == [first.digest], "still used by dragon.v2")
            #expect(try registry.verify(name: "dragon.v2") == [VerifyOutcome(name: "dragon.v2", ok: true, problem: nil)])
            try registry.remove(name: "dragon.v2", activeNames: [])
            #expect(RegistryTests.entries(adapters).isEmpty)
            #expect(try registry.list().isEmpty)
            try RegistryTests.expectConsistent(registry)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func sourceMayChangeOrVanishAfterImport() throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let model = try RegistryTests.config("stories260K")
            let registry = try AdapterRegistry(stateDirectory: dir.appendingPathComponent("state"), model: model, logger: RegistryTests.quiet)
            let source = try RegistryTests.copyAdapter(RegistryTests.snow, to: dir, as: "snow")
            let record = try registry.importAdapter(name: "snow", from: source, replace: false, activeNames: [])
            try FileManager.default.removeItem(at: source)
            #expect(try registry.verify(name: nil) == [VerifyOutcome(name: "snow", ok: true, problem: nil)])
            _ = try LoraAdapter(directory: registry.contentDirectory(for: record), model: model, name: "snow")
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func digestIsTheDocumentedSha256sumListing() throws {
        // docs/registry.md: `sha256sum adapter_config.json adapter_model.safetensors | sha256sum`.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "sha256sum adapter_config.json adapter_model.safetensors | sha256sum"]
        process.currentDirectoryURL = RegistryTests.dragon
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        let expected = String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init)
        #expect(try RegistryTests.digest(of: RegistryTests.dragon) == expected)
    }

    @Test func modelFingerprintDependsOnShapesOnly() throws {
        let base = LlamaConfig(hiddenSize: 64, intermediateSize: 172, layerCount: 5, headCount: 8, kvHeadCount: 4, headDim: 8, vocabSize: 512, maxPositions: 512, tieWordEmbeddings: true)
        var moreHeads = base
        moreHeads.kvHeadCount = 2
        var longer = base
        longer.maxPositions = 4096
        longer.eosTokenIds = [7]
        #expect(ModelFingerprint(config: base).value != ModelFingerprint(config: moreHeads).value)
        #expect(ModelFingerprint(config: base).value == ModelFingerprint(config: longer).value)
        #expect(AdapterDigest.isWellFormed(ModelFingerprint(config: base).value))
    }

    static func size(of directory: URL) throws -> Int {
        try AdapterDigest.files.reduce(0) { sum, file in
            sum + ((try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(file).path)[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}

/// Collects progress steps from the `@Sendable` callback.
final class StepLog: Sendable {
    private let steps = Mutex<[ImportStep]>([])
    func append(_ step: ImportStep) { steps.withLock { $0.append(step) } }
    var all: [ImportStep] { steps.withLock { $0 } }
}
