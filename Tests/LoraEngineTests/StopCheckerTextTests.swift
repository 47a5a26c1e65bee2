import Foundation
import Testing
import LoraTokenizer
@testable import LoraEngine

/// A job's result text: special tokens are left out by id (a generated `</s>` never shows, even with `ignoreEos`),
/// and the tokenizer's `clean_up_tokenization_spaces` applies.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct StopCheckerTextTests {
    static func text(_ tokenizer: Tokenizer, _ ids: [Int32], stop: StopConditions) -> String {
        var checker = StopChecker(stop: stop, maxNewTokens: ids.count, eosTokenIds: tokenizer.eosTokenIds, tokenizer: tokenizer)
        var text = ""
        for id in ids {
            let outcome = checker.append(id)
            text += outcome.text
            if outcome.finish != nil { break }
        }
        return text
    }

    @Test("llama2-hf (normalized specials): </s> and <s> generated with ignoreEos leave no trace in the text")
    func eosNeverInText() throws {
        let tokenizer = try Tokenizer(directory: Fixtures.root.appendingPathComponent("tokenizers/llama2-hf"))
        let ids: [Int32] = [1, 22172, 2, 2, 1, 3186, 2]
        #expect(Self.text(tokenizer, ids, stop: StopConditions(ignoreEos: true)) == "hello world")
        // Without ignoreEos the first </s> ends the job, its text unwritten.
        #expect(Self.text(tokenizer, ids, stop: StopConditions()) == "hello")
    }

    @Test("gpt2's tokenizer_config.json cleans up tokenization spaces in the result text")
    func cleanupInText() throws {
        let tokenizer = try Tokenizer(directory: Fixtures.root.appendingPathComponent("tokenizers/gpt2"))
        let ids = tokenizer.encode("They 're here , is n't it ?", addSpecialTokens: false)
        #expect(Self.text(tokenizer, ids, stop: StopConditions()) == "They're here, isn't it?")
    }
}
