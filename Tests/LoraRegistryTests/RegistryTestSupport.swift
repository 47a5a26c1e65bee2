import Foundation
import Logging
import LoraModel
@testable import LoraRegistry
import LoraTestFixtures
import Testing

/// Fixtures, temporary state directories and checks shared by the registry tests.
enum RegistryTests {
    static var fixturesAvailable: Bool {
        FileManager.default.fileExists(atPath: FixtureLocation.adapter("stories260K", "dragon").appendingPathComponent("adapter_model.safetensors").path)
    }
    static let skipMessage = Comment(rawValue: FixtureLocation.skipMessage)

    static func config(_ model: String) throws -> LlamaConfig { try LlamaConfig(directory: FixtureLocation.model(model)) }
    static func adapter(_ model: String, _ name: String) -> URL { FixtureLocation.adapter(model, name) }
    static var dragon: URL { adapter("stories260K", "dragon") }
    static var snow: URL { adapter("stories260K", "snow") }

    /// A logger that drops everything (a child process's stdout must stay clean).
    static let quiet = Logger(label: "test.registry") { _ in SwiftLogNoOpLogHandler() }

    /// A fresh directory under the system temporary directory; `remove` deletes it, read-only parts included.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-registry-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func remove(_ url: URL) {
        try? FileOperations.removeTree(url.path)
    }

    /// Runs `body` with a fresh directory (the state directory is a subdirectory `state` not yet created).
    static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let url = try makeTemporaryDirectory()
        defer { remove(url) }
        return try body(url)
    }

    /// Copies a fixture adapter into `directory/<name>` so a test may change it.
    static func copyAdapter(_ source: URL, to directory: URL, as name: String) throws -> URL {
        let target = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for file in AdapterDigest.files {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
        }
        return target
    }

    /// The permission bits of a path.
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Entry names in a directory, empty when it does not exist.
    static func entries(_ url: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
    }

    /// Checks what every reopened registry must satisfy: each row's files present and matching its digest,
    /// nothing broken, no directory under `adapters/` without a row, nothing under `tmp/`.
    static func expectConsistent(_ registry: AdapterRegistry, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let records = try registry.list()
        for record in records {
            #expect(record.broken == nil, "\(record.name): \(record.broken ?? "")", sourceLocation: sourceLocation)
            #expect(AdapterRegistry.checkContent(layout: registry.layout, digest: record.digest) == nil, "\(record.name)", sourceLocation: sourceLocation)
        }
        let stored = Set(entries(registry.stateDirectory.appendingPathComponent("adapters")))
        #expect(stored == Set(records.map(\.digest)), "adapters/ holds exactly the referenced digests", sourceLocation: sourceLocation)
        #expect(entries(registry.stateDirectory.appendingPathComponent("tmp")).isEmpty, "tmp/ is empty", sourceLocation: sourceLocation)
    }

    /// The digest of a source directory, computed independently of the registry (sha256sum listing).
    static func digest(of directory: URL) throws -> String {
        var hashes: [String: String] = [:]
        for file in AdapterDigest.files {
            hashes[file] = try FileOperations.hashFile(directory.appendingPathComponent(file).path).sha256
        }
        return AdapterDigest.combine(fileHashes: hashes)
    }

    /// Whether `setpriv` is there to run a test as an unprivileged user.
    static var canDropPrivileges: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") }

    /// Runs this test binary as nobody (uid and gid 65534) with only the Swift Testing test `filter`; returns its
    /// exit status and its output.
    static func runThisBinaryAsNobody(filter: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = [
            "--reuid=65534", "--regid=65534", "--clear-groups", try FileOperations.realPath("/proc/self/exe"),
            "--testing-library", "swift-testing", "--filter", filter,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
