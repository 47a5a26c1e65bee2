import Foundation
import LoraModel
import LoraTokenizer
import Testing

/// stories260K with its trained adapters writes what the reference says, decoded with the model's tokenizer.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct StoriesTextTests {
    @Test(arguments: [AdapterSet.Mode.merged, .unmerged])
    func adaptersChangeTheStory(mode: AdapterSet.Mode) throws {
        let dir = Fixtures.model("stories260K")
        let model = try LlamaModel(directory: dir)
        let tokenizer = try Tokenizer(directory: dir)
        let reference = try Fixtures.reference("stories260K")
        for refCase in reference.cases {
            let entries = try refCase.loras.map {
                AdapterSet.Entry(adapter: try LoraAdapter(directory: Fixtures.adapter("stories260K", $0.adapter), model: model.config), scale: $0.scale)
            }
            let set = try AdapterSet(entries, model: model, mode: mode)
            for result in refCase.results {
                guard case .text(let prompt) = result.prompt, let expected = result.text else { continue }
                let ids = tokenizer.encode(prompt, addSpecialTokens: true)
                #expect(ids == result.ids, "tokenizer ids for \(prompt)")
                let run = try GreedyDecoder(model: model, adapters: set).run(prompt: ids, steps: result.greedy.count)
                let text = tokenizer.decode(run.steps.map { Int32($0.token) }, skipSpecialTokens: true)
                #expect(text == expected, "\(refCase.loras.map(\.adapter)) \(mode): \(text)")
            }
            if refCase.loras.count == 1, refCase.loras[0].adapter == "dragon", refCase.loras[0].scale == 1 {
                let ids = tokenizer.encode("Once upon a time", addSpecialTokens: true)
                let run = try GreedyDecoder(model: model, adapters: set).run(prompt: ids, steps: 20)
                #expect(tokenizer.decode(run.steps.map { Int32($0.token) }).contains("a little dragon named Spark"))
            }
        }
    }
}
