import Foundation
import LoraModel
import Testing

/// Every base-model case (`loras: []`) of every reference file, through the forward pass and KV cache the
/// engine uses.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct ReferenceBaseModelTests {
    @Test(arguments: Fixtures.referenceModels)
    func baseModelMatchesTransformers(modelName: String) throws {
        let reference = try Fixtures.reference(modelName)
        let model = try LlamaModel(directory: Fixtures.model(modelName))
        let baseCases = reference.cases.filter { $0.loras.isEmpty }
        #expect(!baseCases.isEmpty, "\(modelName) has no base-model case")
        for refCase in baseCases {
            for result in refCase.results {
                let run = try GreedyDecoder(model: model).run(prompt: result.ids, steps: result.greedy.count)
                ReferenceComparison.check(run, against: result, label: "\(modelName) prompt \(result.ids.prefix(6))")
            }
        }
    }
}

/// Shared assertions: logits entry by entry, greedy tokens up to the first near-tie, logprobs.
enum ReferenceComparison {
    static func check(_ run: GreedyDecoder.Result, against result: Fixtures.Reference.Result, label: String) {
        if let refLogits = result.logits {
            #expect(run.promptLogits.count == refLogits.count, "\(label): vocabulary size")
            var worst: Float = 0
            var bad = 0
            for (got, ref) in zip(run.promptLogits, refLogits) {
                worst = max(worst, abs(got - ref))
                if !Tolerance.logitsClose(got, ref) { bad += 1 }
            }
            #expect(bad == 0, "\(label): \(bad) logits out of tolerance, largest difference \(worst)")
        }
        for (i, (got, ref)) in zip(run.steps, result.greedy).enumerated() {
            #expect(got.token == ref.token, "\(label): step \(i) token \(got.token), reference \(ref.token)")
            guard got.token == ref.token else { break }
            #expect(abs(got.logprob - ref.logprob) <= Tolerance.logprob, "\(label): step \(i) logprob \(got.logprob), reference \(ref.logprob)")
            // After a near-tie the two implementations may legitimately diverge.
            if ref.margin < Tolerance.nearTieMargin { break }
        }
    }
}
