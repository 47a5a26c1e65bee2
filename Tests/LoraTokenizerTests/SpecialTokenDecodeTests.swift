import Foundation
import Testing
@testable import LoraTokenizer

/// Special tokens are skipped by id (as transformers does), whatever their `normalized` flag, in `decode` and in
/// the streaming detokenizer; `clean_up_tokenization_spaces` applies as in transformers.
@Suite(.enabled(if: Fixtures.available, Fixtures.missingMessage))
struct SpecialTokenDecodeTests {
    static func llama2() throws -> Tokenizer { try Tokenizer(directory: Fixtures.tokenizerDirectory("llama2-hf")) }

    static func stream(_ tokenizer: Tokenizer, _ ids: [Int32], skipSpecialTokens: Bool = true) -> [String] {
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        return ids.map { detokenizer.append($0) } + [detokenizer.finish()]
    }

    @Test("llama2-hf: [1, 22172, 3186] decodes to `hello world` skipping specials, `<s> hello world` keeping them")
    func normalizedSpecialsSkippedById() throws {
        let tokenizer = try Self.llama2()
        #expect(tokenizer.addedTokens.filter(\.special).allSatisfy { $0.normalized })
        #expect(tokenizer.decode([1, 22172, 3186], skipSpecialTokens: true) == "hello world")
        #expect(tokenizer.decode([1, 22172, 3186], skipSpecialTokens: false) == "<s> hello world")
        #expect(tokenizer.decode([1, 22172, 2, 0, 3186, 2], skipSpecialTokens: true) == "hello world")
        #expect(Self.stream(tokenizer, [1, 22172, 3186]).joined() == "hello world")
    }

    @Test("a generated </s> never reaches the streamed text", arguments: ["llama2-hf", "tok512"])
    func eosNeverStreamed(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        let eos = try #require(tokenizer.tokenId(for: "</s>"))
        let words = tokenizer.encode("Once upon a time", addSpecialTokens: false)
        let ids = [words[0], eos, eos] + words.dropFirst() + [eos]
        let text = Self.stream(tokenizer, ids).joined()
        #expect(text == "Once upon a time")
        #expect(!text.contains("</s>"))
        #expect(Self.stream(tokenizer, ids, skipSpecialTokens: false).joined().contains("</s>"))
    }

    @Test("clean_up_tokenization_spaces: gpt2's tokenizer_config.json says true, llama2-hf's false")
    func cleanUpFromConfiguration() throws {
        let gpt2 = try Tokenizer(directory: Fixtures.tokenizerDirectory("gpt2"))
        #expect(gpt2.cleansUpTokenizationSpaces)
        let text = "I 'll go !! They 're here , is n't it ? He 's ok ."
        let ids = gpt2.encode(text, addSpecialTokens: false)
        #expect(gpt2.decode(ids) == "I 'll go!! They're here, isn't it? He's ok.")
        #expect(gpt2.decode(ids, cleanUpTokenizationSpaces: false) == text)
        #expect(Self.stream(gpt2, ids).joined() == gpt2.decode(ids))
        // Only tokenizer.json: no configuration, no cleanup (transformers' default is false).
        #expect(try Fixtures.tokenizer("gpt2").cleansUpTokenizationSpaces == false)
        #expect(try Fixtures.tokenizer("gpt2").decode(ids) == text)

        let llama2 = try Self.llama2()
        #expect(!llama2.cleansUpTokenizationSpaces)
        #expect(llama2.decode(llama2.encode("'ll !!", addSpecialTokens: false)) == "'ll !!")
        #expect(llama2.decode(llama2.encode("'ll !!", addSpecialTokens: false), cleanUpTokenizationSpaces: true) == "'ll!!")
    }

    @Test("the streamed text with cleanup joins to the full decode over the corpus")
    func streamedCleanupMatchesDecode() throws {
        let gpt2 = try Tokenizer(directory: Fixtures.tokenizerDirectory("gpt2"))
        for c in try Fixtures.cases("gpt2") {
            #expect(Self.stream(gpt2, c.ids).joined() == gpt2.decode(c.ids, skipSpecialTokens: true), "\(c.text.debugDescription)")
        }
        let all = try Fixtures.cases("gpt2").flatMap(\.ids)
        #expect(Self.stream(gpt2, all).joined() == gpt2.decode(all, skipSpecialTokens: true))
    }
}

/// transformers' `clean_up_tokenization`: ten `str.replace` passes in order.
@Suite
struct TokenizationSpaceCleanupTests {
    @Test("each rule, Python's non-overlapping left-to-right replace, and the rules' order")
    func rules() {
        #expect(TokenizationSpaceCleanup.apply("a . b ? c ! d , e ' f") == "a. b? c! d, e'f")
        #expect(TokenizationSpaceCleanup.apply("do n't I 'm it 's we 've you 're") == "don't I'm it's we've you're")
        #expect(TokenizationSpaceCleanup.apply("'ll !!") == "'ll!!")
        #expect(TokenizationSpaceCleanup.apply("  .") == " .")
        #expect(TokenizationSpaceCleanup.apply(" ' ' ") == "'' ")
        // " ' " runs before " 's": "x ' s" loses the quote's spaces first.
        #expect(TokenizationSpaceCleanup.apply("x ' s") == "x's")
        #expect(TokenizationSpaceCleanup.apply("é , ü 're") == "é, ü're")
        #expect(TokenizationSpaceCleanup.apply("no change: 'll") == "no change: 'll")
    }

    @Test("the stream gives the same text for every way of cutting it")
    func streamEqualsBatch() {
        let texts = ["a . b ? c ! d , e ' f do n't I 'm it 's we 've you 're", " ' ' ", "  .", "x ' s é , ü 're ",
                     "  n't ' 's ' 're"]
        for text in texts {
            let expected = TokenizationSpaceCleanup.apply(text)
            let chars = Array(text)
            for cut1 in 0...chars.count {
                for cut2 in cut1...chars.count {
                    var stream = TokenizationSpaceCleanupStream()
                    var out = stream.append(String(chars[..<cut1]))
                    out += stream.append(String(chars[cut1..<cut2]))
                    out += stream.append(String(chars[cut2...]))
                    out += stream.finish()
                    #expect(out == expected, "\(text.debugDescription) cut at \(cut1), \(cut2)")
                }
            }
        }
    }
}
