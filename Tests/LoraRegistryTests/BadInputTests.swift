import Foundation
import LoraModel
@testable import LoraRegistry
import Testing

/// Every refusal leaves the state directory as it was: no row, nothing under `adapters/` or `tmp/`.
@Suite("Registry: bad input is refused and nothing is written")
struct BadInputTests {
    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func badNames() throws {
        let tooLong = String(repeating: "a", count: 129)
        let cases: [(String, String)] = [
            ("a/b", "'/'"), ("..", "starts with '.'"), (".hidden", "starts with '.'"), ("", "empty"), (tooLong, "more than 128"),
            ("with space", "' '"), ("naïve", "non-ASCII"), ("../escape", "starts with '.'"),
        ]
        try withRegistry { registry, _ in
            for (name, reason) in cases {
                #expect(performing: {
                    try registry.importAdapter(name: name, from: RegistryTests.dragon, replace: false, activeNames: [])
                }, throws: { error in
                    guard case let RegistryError.invalidName(_, message) = error else { return false }
                    return message.contains(reason)
                })
            }
            // The edges of the rules are accepted.
            let longest = String(repeating: "z", count: 128)
            _ = try registry.importAdapter(name: longest, from: RegistryTests.dragon, replace: false, activeNames: [])
            _ = try registry.importAdapter(name: "A-b_c.9", from: RegistryTests.dragon, replace: false, activeNames: [])
            #expect(try registry.list().count == 2)
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func badSources() throws {
        try withRegistry { registry, dir in
            let file = dir.appendingPathComponent("plain-file")
            try Data("x".utf8).write(to: file)
            let loop = dir.appendingPathComponent("loop")
            try FileManager.default.createSymbolicLink(atPath: loop.path, withDestinationPath: loop.path)
            let missingWeights = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "no-weights")
            try FileManager.default.removeItem(at: missingWeights.appendingPathComponent("adapter_model.safetensors"))
            let pickle = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "pickle")
            try FileManager.default.moveItem(at: pickle.appendingPathComponent("adapter_model.safetensors"), to: pickle.appendingPathComponent("adapter_model.bin"))
            let fifo = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "fifo")
            try FileManager.default.removeItem(at: fifo.appendingPathComponent("adapter_config.json"))
            try #require(mkfifo(fifo.appendingPathComponent("adapter_config.json").path, 0o600) == 0)
            let loopedFile = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "looped-file")
            let loopedConfig = loopedFile.appendingPathComponent("adapter_config.json")
            try FileManager.default.removeItem(at: loopedConfig)
            try FileManager.default.createSymbolicLink(atPath: loopedConfig.path, withDestinationPath: loopedConfig.path)

            let cases: [(URL, String)] = [
                (file, "is a file, not a directory"),
                (loop, "symbolic link loop"),
                (dir.appendingPathComponent("absent"), "does not exist"),
                (missingWeights, "no adapter_model.safetensors"),
                (pickle, "adapter_model.bin"),
                (fifo, "not a regular file"),
                (loopedFile, "symbolic link loop"),
            ]
            for (url, reason) in cases {
                #expect(performing: {
                    try registry.importAdapter(name: "x", from: url, replace: false, activeNames: [])
                }, throws: { error in
                    guard case let RegistryError.invalidSource(path, message) = error else { return false }
                    return path == url.path && message.contains(reason) && "\(error)".contains("readable directory")
                })
            }
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable && (getuid() != 0 || RegistryTests.canDropPrivileges), "root reads every file and setpriv is missing to run this as nobody"))
    func unreadableSource() throws {
        guard getuid() != 0 else {
            // Root reads every file, so the refusal is checked by this same test run again as nobody.
            let (status, output) = try RegistryTests.runThisBinaryAsNobody(filter: "unreadableSource")
            #expect(status == 0 && output.contains("unreadableSource() passed"), "as nobody:\n\(output)")
            return
        }
        try withRegistry { registry, dir in
            let closed = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "closed")
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: closed.path)
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: closed.path) }
            let closedFile = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "closed-file")
            try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: closedFile.appendingPathComponent("adapter_model.safetensors").path)
            for (source, reason) in [(closed, "the directory is not readable (permission denied)"), (closedFile, "adapter_model.safetensors is not readable (permission denied)")] {
                #expect(performing: {
                    try registry.importAdapter(name: "x", from: source, replace: false, activeNames: [])
                }, throws: { error in
                    guard case let RegistryError.invalidSource(_, message) = error else { return false }
                    return message.contains(reason)
                })
            }
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func unreadableFileAsSeenByTheCopy() throws {
        // Root ignores permissions; a directory in place of the weights file is refused the same way on any uid.
        try withRegistry { registry, dir in
            let odd = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "odd")
            try FileManager.default.removeItem(at: odd.appendingPathComponent("adapter_model.safetensors"))
            try FileManager.default.createDirectory(at: odd.appendingPathComponent("adapter_model.safetensors"), withIntermediateDirectories: false)
            #expect(performing: {
                try registry.importAdapter(name: "x", from: odd, replace: false, activeNames: [])
            }, throws: { error in
                guard case let RegistryError.invalidSource(_, message) = error else { return false }
                return message.contains("adapter_model.safetensors is not a regular file")
            })
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func adapterForAnotherModel() throws {
        try withRegistry { registry, _ in
            for source in [RegistryTests.adapter("tiny-llama", "attn-r8"), RegistryTests.adapter("tiny-llama", "all-rs16")] {
                #expect(performing: {
                    try registry.importAdapter(name: "other", from: source, replace: false, activeNames: [])
                }, throws: { error in
                    guard case let RegistryError.incompatible(name, reason) = error else { return false }
                    // The message names the source, not the registry's temporary copy.
                    return name == "other" && !reason.contains("/tmp/import-") && "\(error)".contains("trained for this model")
                })
            }
        }
    }

    @Test(.enabled(if: RegistryTests.fixturesAvailable, RegistryTests.skipMessage))
    func invalidAdapterFiles() throws {
        try withRegistry { registry, dir in
            let badConfig = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "bad-config")
            try Data("{ not json".utf8).write(to: badConfig.appendingPathComponent("adapter_config.json"))
            let truncated = try RegistryTests.copyAdapter(RegistryTests.dragon, to: dir, as: "truncated")
            let weights = truncated.appendingPathComponent("adapter_model.safetensors")
            try Data(try Data(contentsOf: weights).prefix(100)).write(to: weights)
            for source in [badConfig, truncated] {
                #expect(performing: {
                    try registry.importAdapter(name: "bad", from: source, replace: false, activeNames: [])
                }, throws: { error in
                    guard case RegistryError.adapterInvalid(name: "bad", _) = error else { return false }
                    return true
                })
            }
        }
    }

    /// Opens a registry for stories260K in a fresh directory, runs `body`, then checks nothing stray was written:
    /// only the rows the body made, their directories, an empty `tmp/`.
    func withRegistry(_ body: (AdapterRegistry, URL) throws -> Void) throws {
        try RegistryTests.withTemporaryDirectory { dir in
            let state = dir.appendingPathComponent("state")
            let registry = try AdapterRegistry(stateDirectory: state, model: try RegistryTests.config("stories260K"), logger: RegistryTests.quiet)
            try body(registry, dir)
            try RegistryTests.expectConsistent(registry)
            #expect(try registry.history(limit: 10).isEmpty)
            #expect(Set(RegistryTests.entries(state)).isSubset(of: ["adapters", "tmp", "lock", "registry.sqlite", "registry.sqlite-wal", "registry.sqlite-shm"]))
        }
    }
}
