import Foundation
import Testing
@testable import LoraTokenizer

/// The streaming detokenizer's work per token stays bounded whatever the tokens: it counts the token strings it
/// passes to the decoder, and a long run of tokens that add no text (or only U+FFFD) must cost a constant number
/// of them per token, where re-decoding the held tokens each time grows with the run (n²/2 for n tokens).
@Suite
struct BoundedDetokenizerTests {
    static let runLength = 3_000
    /// Decoder inputs per token allowed on average; the quadratic detokenizer needs about `runLength / 2`.
    static let workPerToken = 8

    /// Streams `ids`; returns the joined pieces and the work done.
    static func stream(_ tokenizer: Tokenizer, _ ids: [Int32], skipSpecialTokens: Bool = true) -> (String, Int) {
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        var text = ""
        for id in ids { text += detokenizer.append(id) }
        text += detokenizer.finish()
        return (text, detokenizer.decodedTokenCount)
    }

    /// Asserts the stream of `ids` joins to `decode` and costs at most `workPerToken` per token.
    static func expectBounded(_ tokenizer: Tokenizer, _ ids: [Int32], skipSpecialTokens: Bool = true,
                              workPerToken: Int = workPerToken,
                              _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        let (text, work) = stream(tokenizer, ids, skipSpecialTokens: skipSpecialTokens)
        #expect(text == tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens), comment, sourceLocation: sourceLocation)
        #expect(work <= workPerToken * ids.count, "\(comment): \(work) decoder inputs for \(ids.count) tokens",
                sourceLocation: sourceLocation)
    }

    @Test("skipped special tokens and unknown ids cost constant work (llama2-hf)",
          .enabled(if: Fixtures.available, Fixtures.missingMessage))
    func skippedAndUnknown() throws {
        let tokenizer = try Fixtures.tokenizer("llama2-hf")
        let words = tokenizer.encode("Once upon", addSpecialTokens: false)
        let a = Array(words.prefix(1)), b = Array(words.dropFirst())
        let n = Self.runLength
        Self.expectBounded(tokenizer, a + Array(repeating: 2, count: n) + b, "a run of skipped </s>")
        Self.expectBounded(tokenizer, a + Array(repeating: 1, count: n) + b, "a run of skipped <s>")
        Self.expectBounded(tokenizer, a + Array(repeating: 99_999, count: n) + [-1, -1] + b, "a run of unknown ids")
        let (text, _) = Self.stream(tokenizer, a + Array(repeating: 2, count: n) + b)
        #expect(text == "Once upon")
    }

    @Test("byte-fallback runs that can never be valid UTF-8 cost constant work and stream as they come",
          .enabled(if: Fixtures.available, Fixtures.missingMessage))
    func invalidByteRuns() throws {
        let tokenizer = try Fixtures.tokenizer("llama2-hf")
        let lead = try #require(tokenizer.tokenId(for: "<0xE2>"))
        let continuation = try #require(tokenizer.tokenId(for: "<0x82>"))
        let ff = try #require(tokenizer.tokenId(for: "<0xFF>"))
        let a = tokenizer.encode("a", addSpecialTokens: false)
        let n = Self.runLength
        Self.expectBounded(tokenizer, a + Array(repeating: lead, count: n) + a, "a run of lead bytes")
        Self.expectBounded(tokenizer, a + Array(repeating: ff, count: n), "a run of 0xFF")
        let pairs = (0..<n / 2).flatMap { _ in [lead, continuation] }
        Self.expectBounded(tokenizer, a + pairs + a, "E2 82 repeated (each pair incomplete)")
        Self.expectBounded(tokenizer, a + [ff] + Array(repeating: 2, count: n) + [lead, continuation], "0xFF, </s>…, E2 82")

        // An invalid run's text comes out while the run goes on, not at its end.
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        var emitted = ""
        for id in a + Array(repeating: ff, count: 10) { emitted += detokenizer.append(id) }
        #expect(emitted.unicodeScalars.filter { $0 == "\u{FFFD}" }.count >= 7)
    }

    @Test("a valid byte-fallback run is held at constant work and decoded once it ends",
          .enabled(if: Fixtures.available, Fixtures.missingMessage))
    func validByteRun() throws {
        let tokenizer = try Fixtures.tokenizer("llama2-hf")
        let x = try #require(tokenizer.tokenId(for: "<0x41>"))
        let r = try #require(tokenizer.tokenId(for: "\u{FFFD}") ?? tokenizer.tokenId(for: "▁\u{FFFD}"))
        let a = tokenizer.encode("a", addSpecialTokens: false)
        let n = Self.runLength
        Self.expectBounded(tokenizer, a + Array(repeating: x, count: n) + a, "a run of 0x41")
        Self.expectBounded(tokenizer, a + Array(repeating: x, count: n) + Array(repeating: r, count: 20), "0x41… then U+FFFD")
    }

    @Test("incomplete byte-level characters cost constant work",
          .enabled(if: Fixtures.available, Fixtures.missingMessage), arguments: ["gpt2", "llama3.2"])
    func byteLevel(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        func id(_ byte: Int) throws -> Int32 {
            try #require(tokenizer.tokenId(for: String(decoding: ByteLevelAlphabet.utf8ForByte[byte], as: UTF8.self)))
        }
        let a = tokenizer.encode("a", addSpecialTokens: false)
        let n = Self.runLength
        Self.expectBounded(tokenizer, a + Array(repeating: try id(0xF0), count: n) + a, "\(name): lead bytes")
        Self.expectBounded(tokenizer, a + Array(repeating: try id(0x80), count: n) + a, "\(name): continuation bytes")
        let special = try #require(tokenizer.addedTokens.first { $0.special }).id
        let lead = try id(0xF0)
        let mixed = (0..<n / 2).flatMap { _ in [lead, special] }
        Self.expectBounded(tokenizer, a + mixed + a, "\(name): lead byte, special, …")
        Self.expectBounded(tokenizer, a + Array(repeating: special, count: n) + a, skipSpecialTokens: true, "\(name): specials")
    }

    @Test("a decoder that maps tokens to nothing: the window is released at the limit and work stays bounded")
    func tokensThatRenderNothing() throws {
        let decoder = #"{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"x"},"content":""},{"type":"Fuse"}]}"#
        let tokenizer = try TokenizerFileTests.load(TokenizerFileTests.json(decoder: decoder))
        let x = try #require(tokenizer.tokenId(for: "x"))
        let n = Self.runLength
        let ids: [Int32] = [1] + Array(repeating: x, count: n) + [2] + Array(repeating: x, count: n) + [3]
        // The window grows to `maxHeldTokens` before each release: about half that per token on average.
        Self.expectBounded(tokenizer, ids, workPerToken: IncrementalDetokenizer.maxHeldTokens,
                           "a run of tokens that decode to nothing")
        #expect(Self.stream(tokenizer, ids).0 == "abc")
    }
}
