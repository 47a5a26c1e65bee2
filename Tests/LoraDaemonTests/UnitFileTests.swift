import Foundation
import Testing

/// The systemd units as installed: `systemd-analyze verify` accepts them and `systemd-analyze security` rates the
/// service's sandbox 1.5 or lower ("OK" or better). The units are installed by `make install-files` into a
/// temporary DESTDIR with the built binaries, so ExecStart= names files that exist.
@Suite(.serialized)
struct UnitFileTests {
    static let analyze = "/usr/bin/systemd-analyze"

    /// The source tree: the first parent of the build products with a Makefile.
    static let sourceRoot: URL? = {
        var dir = LoradProcess.products
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Makefile").path),
               FileManager.default.fileExists(atPath: dir.appendingPathComponent("systemd/lorad.service").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }()

    static func run(_ argv: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// `make install-files` into a fresh DESTDIR with PREFIX=/opt/lorad-test; the DESTDIR.
    static func install() throws -> URL {
        let root = try #require(sourceRoot, "the source tree (Makefile) was not found above \(LoradProcess.products.path)")
        let destdir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lorad-install-\(UUID().uuidString)")
        let make = try run(["/usr/bin/make", "--no-print-directory", "install-files", "DESTDIR=\(destdir.path)", "PREFIX=/opt/lorad-test",
                            "BUILD_DIR=\(LoradProcess.products.path)"], in: root)
        #expect(make.status == 0, "make install-files failed:\n\(make.output)")
        return destdir
    }

    @Test func makeInstallLaysOutEverythingWithThePrefixInTheUnits() throws {
        let destdir = try Self.install()
        defer { try? FileManager.default.removeItem(at: destdir) }
        let prefix = destdir.appendingPathComponent("opt/lorad-test")
        for path in ["bin/lorad", "bin/lorctl", "lib/systemd/system/lorad.service", "lib/systemd/system/lorad.socket",
                     "lib/sysusers.d/lorad.conf", "lib/tmpfiles.d/lorad.conf", "share/doc/lorad/lorad.toml.example",
                     "share/doc/lorad/operations.md", "share/lorad/demo/stories260K/model.safetensors",
                     "share/lorad/demo/adapters/dragon/adapter_config.json"] {
            #expect(FileManager.default.fileExists(atPath: prefix.appendingPathComponent(path).path), "missing \(path)")
        }
        #expect(FileManager.default.fileExists(atPath: destdir.appendingPathComponent("etc/lorad/lorad.toml").path))
        let service = try String(contentsOf: prefix.appendingPathComponent("lib/systemd/system/lorad.service"), encoding: .utf8)
        #expect(service.contains("ExecStart=/opt/lorad-test/bin/lorad serve"))
        #expect(service.contains("ExecReload=/opt/lorad-test/bin/lorctl "))
        #expect(!service.contains("/usr/local"), "every path follows PREFIX")
        // An installed lorad finds the demo beside it (PREFIX/share/lorad/demo).
        let check = try Self.run([prefix.appendingPathComponent("bin/lorad").path, "serve", "--check-config"])
        #expect(check.status == 0, "\(check.output)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: analyze), "needs systemd-analyze (apt package systemd)"))
    func unitsVerifyAndTheSandboxRatesSafe() throws {
        let destdir = try Self.install()
        defer { try? FileManager.default.removeItem(at: destdir) }
        // ExecStart= must name an existing binary for verify: point the installed units at the DESTDIR's.
        let units = destdir.appendingPathComponent("opt/lorad-test/lib/systemd/system")
        let service = units.appendingPathComponent("lorad.service")
        let text = try String(contentsOf: service, encoding: .utf8)
        try text.replacingOccurrences(of: "/opt/lorad-test/", with: destdir.path + "/opt/lorad-test/").write(to: service, atomically: true, encoding: .utf8)
        let socket = units.appendingPathComponent("lorad.socket")

        let verify = try Self.run([Self.analyze, "verify", socket.path, service.path])
        #expect(verify.status == 0 && verify.output.isEmpty, "systemd-analyze verify:\n\(verify.output)")

        let security = try Self.run([Self.analyze, "security", "--offline=yes", "--no-pager", service.path])
        let line = try #require(security.output.split(separator: "\n").first { $0.contains("Overall exposure level") },
                                "no exposure level in:\n\(security.output)")
        let level = line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        let exposure = try #require(level, "cannot read the level in \(line)")
        #expect(exposure <= 1.5, "\(line)\n\(security.output)")
    }
}
