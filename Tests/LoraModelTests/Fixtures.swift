import Foundation
import LoraTestFixtures
import Testing

/// Locates `../shared/fixtures` (or `$LORA_FIXTURES`) and decodes the reference files.
enum Fixtures {
    static let root = FixtureLocation.root

    static var available: Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("reference").path) }
    static let skipMessage = Comment(rawValue: FixtureLocation.skipMessage)

    static func model(_ name: String) -> URL { FixtureLocation.model(name) }
    static func adapter(_ model: String, _ name: String) -> URL { FixtureLocation.adapter(model, name) }

    static let referenceModels = ["tiny-llama", "tiny-llama-bf16-tied-sharded", "tiny-llama3-rope", "stories260K"]

    struct Reference: Decodable {
        struct LoraEntry: Decodable { var adapter: String; var scale: Float }
        struct Step: Decodable { var token: Int; var logprob: Float; var margin: Float }
        struct Result: Decodable {
            var prompt: PromptValue
            var promptIds: [Int32]?
            var logits: [Float]?
            var greedy: [Step]
            var text: String?
            enum CodingKeys: String, CodingKey { case prompt, promptIds = "prompt_ids", logits, greedy, text }
            var ids: [Int32] { promptIds ?? prompt.ids ?? [] }
        }
        struct Case: Decodable { var loras: [LoraEntry]; var results: [Result] }
        var model: String
        var steps: Int
        var cases: [Case]
    }

    /// A prompt is token ids (tiny models) or text (stories260K).
    enum PromptValue: Decodable {
        case ids([Int32]), text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .text(s) } else { self = .ids(try c.decode([Int32].self)) }
        }
        var ids: [Int32]? { if case .ids(let v) = self { return v } else { return nil } }
    }

    static func reference(_ model: String) throws -> Reference {
        let data = try Data(contentsOf: FixtureLocation.reference(model))
        return try JSONDecoder().decode(Reference.self, from: data)
    }
}

/// The fixtures README's comparison rules for an f32 engine.
enum Tolerance {
    static func logitsClose(_ got: Float, _ ref: Float) -> Bool { abs(got - ref) <= 1e-4 + 1e-4 * abs(ref) }
    static let logprob: Float = 1e-4
    static let nearTieMargin: Float = 1e-3
}
