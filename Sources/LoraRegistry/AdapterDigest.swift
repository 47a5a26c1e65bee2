import Crypto
import Foundation

/// The content digest of an adapter: sha256 over the `sha256sum`-style listing of its two files, sorted by name:
///
///     <sha256 hex of adapter_config.json>  adapter_config.json\n
///     <sha256 hex of adapter_model.safetensors>  adapter_model.safetensors\n
///
/// (lowercase hex, two spaces, one line per file, UTF-8). An operator can reproduce it in the adapter directory
/// with `sha256sum adapter_config.json adapter_model.safetensors | sha256sum`.
public enum AdapterDigest {
    /// The files an adapter consists of, in digest order (byte order of their names).
    public static let files = ["adapter_config.json", "adapter_model.safetensors"]

    /// The digest from each file's sha256 (lowercase hex), keyed by file name; every name in `files` must be present.
    public static func combine(fileHashes: [String: String]) -> String {
        let listing = files.map { "\(fileHashes[$0] ?? "")  \($0)\n" }.joined()
        return FileOperations.hex(SHA256.hash(data: Data(listing.utf8)))
    }

    /// Whether `text` has the form of a digest (64 lowercase hex digits), so a directory name can be trusted as one.
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
