import Foundation
import LoraTestFixtures
import Testing

/// Locates `../shared/fixtures` (or `$LORA_FIXTURES`) and decodes the reference files.
enum Fixtures {
    static let root = FixtureLocation.root

    static var available: Bool { FileManager.default.fileExists(atPath: root.appendingPathComponent("reference/stories260K.json").path) }
    static let skipMessage = Comment(rawValue: FixtureLocation.skipMessage)

    static func model(_ name: String) -> URL { FixtureLocation.model(name) }
    static func adapter(_ model: String, _ name: String) -> URL { FixtureLocation.adapter(model, name) }

    struct Reference: Decodable {
        struct LoraEntry: Decodable { var adapter: String; var scale: Float }
        struct Step: Decodable { var token: Int; var logprob: Float; var margin: Float }
        struct Result: Decodable {
            var prompt: String
            var promptIds: [Int32]
            var greedy: [Step]
            var text: String
            enum CodingKeys: String, CodingKey { case prompt, promptIds = "prompt_ids", greedy, text }
        }
        struct Case: Decodable { var loras: [LoraEntry]; var results: [Result] }
        var steps: Int
        var cases: [Case]
    }

    static func reference(_ model: String) throws -> Reference {
        let data = try Data(contentsOf: FixtureLocation.reference(model))
        return try JSONDecoder().decode(Reference.self, from: data)
    }
}

/// The fixtures README's comparison rules for an f32 engine.
enum Tolerance {
    static let logprob: Float = 1e-4
    static let nearTieMargin: Float = 1e-3
}
