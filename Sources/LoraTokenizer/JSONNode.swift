import Foundation
import LoraJSON

/// A parsed JSON value together with where it came from, so that every accessor can throw a `TokenizerError`
/// naming the file and the component path.
struct JSONNode {
    let value: JSONValue
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            return JSONNode(value: try JSONValue.parse(data, options: .lenient), path: "root", file: file)
        } catch {
            throw TokenizerError.invalidJSON(file: file, reason: error.description)
        }
    }

    func members() throws -> [(String, JSONValue)] {
        guard case .object(let members) = value else { throw wrongKind("an object") }
        return members
    }

    func array() throws -> [JSONNode] {
        guard case .array(let items) = value else { throw wrongKind("an array") }
        return items.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func stringValue() throws -> String {
        guard case .string(let string) = value else { throw wrongKind("a string") }
        return string
    }

    func intValue() throws -> Int {
        guard case .number(let number) = value, let int = Int(exactly: number) else { throw wrongKind("an integer") }
        return int
    }

    /// A token id: an integer in 0...Int32.max.
    func tokenIdValue() throws -> Int32 {
        guard case .number(let number) = value, let id = Int32(exactly: number), id >= 0 else { throw wrongKind("a token id (0...\(Int32.max))") }
        return id
    }

    func boolValue() throws -> Bool {
        guard case .bool(let bool) = value else { throw wrongKind("true or false") }
        return bool
    }

    var isArray: Bool { if case .array = value { return true } else { return false } }

    /// The child under `key`, or nil when the key is absent or null.
    func optional(_ key: String) throws -> JSONNode? {
        _ = try members()
        guard let child = value[key] else { return nil }
        if case .null = child { return nil }
        return JSONNode(value: child, path: "\(path).\(key)", file: file)
    }

    func required(_ key: String) throws -> JSONNode {
        guard let child = try optional(key) else {
            throw TokenizerError.missingKey(file: file, component: path, key: key)
        }
        return child
    }

    func string(_ key: String) throws -> String { try required(key).stringValue() }
    func optionalString(_ key: String) throws -> String? { try optional(key)?.stringValue() }

    func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        try optional(key)?.boolValue() ?? defaultValue
    }

    func int(_ key: String, default defaultValue: Int) throws -> Int {
        try optional(key)?.intValue() ?? defaultValue
    }

    /// The component's `type` string.
    func typeName() throws -> String { try string("type") }

    func invalid(_ key: String, _ reason: String) -> TokenizerError {
        TokenizerError.invalidValue(file: file, component: path, key: key, reason: reason)
    }

    func unknown(_ type: String) -> TokenizerError {
        TokenizerError.unknownComponent(file: file, component: path, type: type)
    }

    private func wrongKind(_ expected: String) -> TokenizerError {
        var component = path
        var key = path
        if let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) {
            component = String(path[..<cut])
            key = String(path[path.index(after: cut)...])
        }
        return TokenizerError.invalidValue(file: file, component: component, key: key, reason: "expected \(expected)")
    }
}
