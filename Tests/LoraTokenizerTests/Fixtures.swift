import Foundation
import LoraTestFixtures
import LoraJSON
import Testing
@testable import LoraTokenizer

/// Where the shared fixtures are: `$LORA_FIXTURES`, else `../shared/fixtures` next to the package root.
enum Fixtures {
    static let root = FixtureLocation.root

    static let tokenizerNames = ["tok512", "llama2-hf", "gpt2", "smollm-360m-instruct", "llama3.2"]

    static func tokenizerDirectory(_ name: String) -> URL {
        root.appendingPathComponent("tokenizers").appendingPathComponent(name)
    }

    static var corpusURL: URL { root.appendingPathComponent("tokenizers/corpus.jsonl") }

    static var available: Bool {
        FileManager.default.fileExists(atPath: corpusURL.path)
            && tokenizerNames.allSatisfy {
                FileManager.default.fileExists(atPath: tokenizerDirectory($0).appendingPathComponent("cases.json").path)
            }
    }

    static var missingMessage: Comment {
        Comment(rawValue: "tokenizer fixtures not found at \(root.appendingPathComponent("tokenizers").path); set LORA_FIXTURES")
    }

    /// One reference encoding from cases.json.
    struct Case: Sendable {
        let text: String
        let ids: [Int32]
        let idsWithSpecialTokens: [Int32]
        let decoded: String
        let decodedSkipSpecial: String
    }

    private static let loadedTokenizers = TokenizerStore()

    /// The tokenizer, loaded once per test run.
    static func tokenizer(_ name: String) throws -> Tokenizer {
        try loadedTokenizers.get(name) {
            try Tokenizer(contentsOf: tokenizerDirectory(name).appendingPathComponent("tokenizer.json"))
        }
    }

    static func cases(_ name: String) throws -> [Case] {
        let data = try Data(contentsOf: tokenizerDirectory(name).appendingPathComponent("cases.json"))
        // The library's own parser: JSONSerialization drops U+FEFF inside strings.
        let root = try JSONValue.parse([UInt8](data), options: .lenient)
        guard case .array(let list)? = root["cases"] else { throw FixtureError.malformed(name) }
        return try list.map { entry in
            Case(text: try string(entry["text"], name), ids: try ids(entry["ids"], name),
                 idsWithSpecialTokens: try ids(entry["ids_with_special_tokens"], name),
                 decoded: try string(entry["decoded"], name),
                 decodedSkipSpecial: try string(entry["decoded_skip_special"], name))
        }
    }

    static func corpus() throws -> [String] {
        let data = try Data(contentsOf: corpusURL)
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            try string(try JSONValue.parse([UInt8](line), options: .lenient), "corpus.jsonl")
        }
    }

    private static func string(_ value: JSONValue?, _ name: String) throws -> String {
        guard case .string(let s)? = value else { throw FixtureError.malformed(name) }
        return s
    }

    private static func ids(_ value: JSONValue?, _ name: String) throws -> [Int32] {
        guard case .array(let items)? = value else { throw FixtureError.malformed(name) }
        return try items.map { item in
            guard case .number(let n) = item, let id = Int32(exactly: n) else { throw FixtureError.malformed(name) }
            return id
        }
    }
}

enum FixtureError: Error { case malformed(String) }

/// Loaded tokenizers shared by the tests (loading llama3.2 takes a moment).
final class TokenizerStore: @unchecked Sendable {
    private let lock = NSLock()
    private var tokenizers: [String: Tokenizer] = [:]

    func get(_ name: String, load: () throws -> Tokenizer) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let hit = tokenizers[name] { return hit }
        let tokenizer = try load()
        tokenizers[name] = tokenizer
        return tokenizer
    }
}
