import Foundation

/// The embedded default: the stories260K model and its `dragon` and `snow` adapters (about 1.3 MB), served
/// when no model is configured so that a fresh clone or install has something real to serve.
public struct DemoBundle: Sendable, Equatable {
    /// The model directory.
    public let model: URL
    /// The demo adapters, by the names they are registered under on first start.
    public let adapters: [(name: String, directory: URL)]

    public static func == (a: DemoBundle, b: DemoBundle) -> Bool {
        a.model == b.model && a.adapters.map(\.name) == b.adapters.map(\.name) && a.adapters.map(\.directory) == b.adapters.map(\.directory)
    }

    /// The bundle in `root` (a `demo` directory), if it is complete.
    public init?(root: URL) {
        let model = root.appendingPathComponent("stories260K")
        let files = ["config.json", "model.safetensors", "tokenizer.json"]
        guard files.allSatisfy({ FileManager.default.fileExists(atPath: model.appendingPathComponent($0).path) }) else { return nil }
        self.model = model
        adapters = ["dragon", "snow"].compactMap { name in
            let dir = root.appendingPathComponent("adapters/\(name)")
            return FileManager.default.fileExists(atPath: dir.appendingPathComponent("adapter_config.json").path) ? (name, dir) : nil
        }
    }

    /// Where the demo is looked for, in order: `$LORAD_DEMO_DIR`; `share/lorad/demo` beside an installed
    /// binary (`PREFIX/bin/lorad` → `PREFIX/share/lorad/demo`); `share/demo` of the source tree the binary was
    /// built in (`.build/<triple>/<config>/lorad`), found by walking up from the executable.
    public static func candidates(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var roots: [URL] = []
        if let dir = environment["LORAD_DEMO_DIR"], !dir.isEmpty { roots.append(URL(fileURLWithPath: dir)) }
        var dir = executableURL().deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(dir.appendingPathComponent("share/lorad/demo"))
            roots.append(dir.appendingPathComponent("share/demo"))
            dir = dir.deletingLastPathComponent()
        }
        return roots
    }

    /// The first complete bundle among `candidates`, or nil.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> DemoBundle? {
        candidates(environment: environment).lazy.compactMap { DemoBundle(root: $0) }.first
    }

    /// The running executable, symlinks resolved (`/proc/self/exe` on Linux).
    static func executableURL() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
    }
}
