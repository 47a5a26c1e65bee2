import Foundation
@testable import LoraDaemon
import Testing

/// The configuration layers: defaults, the TOML file, the environment, flags; and the errors a typo gets.
@Suite
struct ConfigurationTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theShippedExampleFileMeansTheDefaults() throws {
        let environment = ["STATE_DIRECTORY": "/var/lib/lorad", "RUNTIME_DIRECTORY": "/run/lorad"]
        let example = Self.packageRoot.appendingPathComponent("systemd/lorad.toml").path
        var fromFile = try ConfigurationLoader(flags: .init(configFile: example), environment: environment).load()
        let defaults = try ConfigurationLoader(flags: .init(), environment: environment).load()
        fromFile.configFile = nil
        #expect(fromFile == defaults, "every commented value in lorad.toml is the default it documents")
        #expect(defaults.socketPath == "/run/lorad/lorad.sock")
        #expect(defaults.stateDirectory == "/var/lib/lorad")
        #expect(defaults.socketMode == 0o660)
        #expect(defaults.maxConnections == 256)
        #expect(defaults.maxMessageBytes == 16 << 20)
        #expect(defaults.servesDemo)
    }

    @Test func uncommentingTheExampleValuesChangesNothing() throws {
        // The commented `# key = value` lines, uncommented, must parse and mean the defaults.
        let example = try String(contentsOf: Self.packageRoot.appendingPathComponent("systemd/lorad.toml"), encoding: .utf8)
        var lines: [String] = []
        var section = ""
        for line in example.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("[") { section = String(line) }
            if line.hasPrefix("# "), line.contains(" = "), !line.contains("path ="), !line.contains("socket ="),
               !line.contains("directory ="), !line.contains("admin_"), !line.contains("import_roots"),
               section != "" {
                lines.append(String(line.dropFirst(2)))
            } else {
                lines.append(String(line))
            }
        }
        let environment = ["STATE_DIRECTORY": "/var/lib/lorad", "RUNTIME_DIRECTORY": "/run/lorad"]
        let base = DaemonConfiguration(environment: environment)
        let applied = try ConfigurationFile.apply(text: lines.joined(separator: "\n"), source: "example", to: base)
        #expect(applied == base)
    }

    @Test func unknownKeysAndBadValuesAreErrorsNamingTheKey() throws {
        let base = DaemonConfiguration(environment: [:])
        for (text, needle) in [
            ("[engine]\nmax_batch_sise = 8\n", "max_batch_sise"),
            ("[serverr]\n", "serverr"),
            ("[server]\nsocket_mode = \"0999\"\n", "socket_mode"),
            ("[server]\nmax_connections = \"many\"\n", "max_connections"),
            ("[engine]\nlora_mode = \"sometimes\"\n", "lora_mode"),
            ("[engine]\nper_job_delta = \"f64\"\n", "per_job_delta"),
            ("[server]\nmax_message_bytes = 9223372036854775807\n", "max_message_bytes"),
            ("[engine]\nadapter_cache_mb = 0\n", "adapter_cache_mb"),
            ("[log]\nlevel = \"loud\"\n", "level"),
            ("[shutdown]\ngrace_seconds = -1\n", "grace_seconds"),
            ("[model\n", "t.toml:1"),
        ] {
            do {
                _ = try ConfigurationFile.apply(text: text, source: "t.toml", to: base).validated()
                Issue.record("\(text) was accepted")
            } catch {
                #expect("\(error)".contains(needle), "\(error)")
            }
        }
    }

    @Test func engineKeysReachTheEngineConfiguration() throws {
        let base = DaemonConfiguration(environment: [:])
        let c = try ConfigurationFile.apply(text: "[engine]\nper_job_delta = \"f16\"\nadapter_cache_mb = 64\nmax_batch_size = 4\n", source: "t", to: base)
        #expect(c.engine.perJobDeltaElement == .float16)
        #expect(c.engine.adapterCacheBytes == 64 << 20)
        #expect(c.engine.maxBatchSize == 4)
    }

    @Test func environmentOverridesTheFileAndFlagsOverrideBoth() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lorad.toml")
        try "[server]\nsocket = \"/file.sock\"\n[state]\ndirectory = \"/file-state\"\n".write(to: file, atomically: true, encoding: .utf8)
        let environment = ["LORAD_CONFIG": file.path, "LORAD_STATE_DIR": "/env-state"]
        let config = try ConfigurationLoader(flags: .init(socketPath: "/flag.sock"), environment: environment).load()
        #expect(config.socketPath == "/flag.sock")
        #expect(config.stateDirectory == "/env-state")
        #expect(config.configFile == file.path)
    }
}

extension DaemonConfiguration {
    func validated() throws -> DaemonConfiguration {
        try validate()
        return self
    }
}
