/// The rules for adapter names: 1 to 128 ASCII letters, digits, `-`, `_` or `.`, not starting with `.`.
/// They keep names safe as file names, in logs and on command lines (no `/`, no `..`, no spaces).
public enum AdapterName {
    /// The longest name accepted.
    public static let maxLength = 128

    /// Throws `RegistryError.invalidName` saying which rule `name` breaks.
    public static func validate(_ name: String) throws {
        guard !name.isEmpty else { throw RegistryError.invalidName(name: name, reason: "it is empty") }
        let bytes = Array(name.utf8)
        guard bytes.count <= maxLength else {
            throw RegistryError.invalidName(name: String(name.prefix(32)) + "…", reason: "it is \(bytes.count) bytes long, more than \(maxLength)")
        }
        guard bytes[0] != UInt8(ascii: ".") else {
            throw RegistryError.invalidName(name: name, reason: "it starts with '.'")
        }
        for byte in bytes where !isAllowed(byte) {
            let shown = byte < 0x80 ? "'\(Character(Unicode.Scalar(byte)))'" : "a non-ASCII character"
            throw RegistryError.invalidName(name: name, reason: "it contains \(shown)")
        }
    }

    static func isAllowed(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
