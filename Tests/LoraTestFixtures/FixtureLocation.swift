import Foundation

/// Where the shared fixtures are, for every test target: `$LORA_FIXTURES`, else `../shared/fixtures` beside the
/// package root. Tests that need them skip with `skipMessage` when they are absent.
public enum FixtureLocation {
    /// The fixtures directory.
    public static let root: URL = {
        if let override = ProcessInfo.processInfo.environment["LORA_FIXTURES"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }()

    /// Why fixture tests were skipped.
    public static var skipMessage: String { "fixtures not found at \(root.path) (set LORA_FIXTURES)" }

    /// `models/<name>`.
    public static func model(_ name: String) -> URL { root.appendingPathComponent("models/\(name)") }

    /// `adapters/<model>/<name>`.
    public static func adapter(_ model: String, _ name: String) -> URL { root.appendingPathComponent("adapters/\(model)/\(name)") }

    /// `reference/<model>.json`.
    public static func reference(_ model: String) -> URL { root.appendingPathComponent("reference/\(model).json") }
}
