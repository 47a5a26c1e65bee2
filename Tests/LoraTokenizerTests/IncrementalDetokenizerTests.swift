import Foundation
import Testing
@testable import LoraTokenizer

/// Feeding ids one at a time gives whole-UTF-8 pieces that join to the full decode.
@Suite(.enabled(if: Fixtures.available, Fixtures.missingMessage))
struct IncrementalDetokenizerTests {
    static func stream(_ tokenizer: Tokenizer, _ ids: [Int32], skipSpecialTokens: Bool) -> [String] {
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skipSpecialTokens)
        var pieces = ids.map { detokenizer.append($0) }
        pieces.append(detokenizer.finish())
        return pieces
    }

    static func replacementCount(_ s: String) -> Int { s.unicodeScalars.filter { $0 == "\u{FFFD}" }.count }

    @Test("one id at a time joins to the full decode", arguments: Fixtures.tokenizerNames)
    func everyCase(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            for skip in [false, true] {
                let ids = c.idsWithSpecialTokens
                let pieces = Self.stream(tokenizer, ids, skipSpecialTokens: skip)
                let whole = tokenizer.decode(ids, skipSpecialTokens: skip)
                #expect(pieces.joined() == whole, "\(name) skip=\(skip): \(c.text.debugDescription)")
                // No piece carries a U+FFFD that the full decode does not have (a half character).
                #expect(pieces.map(Self.replacementCount).reduce(0, +) == Self.replacementCount(whole),
                        "\(name): \(c.text.debugDescription)")
            }
        }
    }

    @Test("the whole corpus as one stream", arguments: Fixtures.tokenizerNames)
    func wholeCorpus(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        let ids = try Fixtures.cases(name).flatMap(\.idsWithSpecialTokens)
        let pieces = Self.stream(tokenizer, ids, skipSpecialTokens: true)
        #expect(pieces.joined() == tokenizer.decode(ids, skipSpecialTokens: true))
    }

    @Test("a byte-fallback character is held until complete")
    func byteFallbackEmoji() throws {
        let tokenizer = try Fixtures.tokenizer("llama2-hf")
        let ids = tokenizer.encode("a 😀 b", addSpecialTokens: false)
        let pieces = Self.stream(tokenizer, ids, skipSpecialTokens: true)
        #expect(ids.count > 4)
        #expect(pieces.allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(pieces.contains { $0.contains("😀") })
        #expect(pieces.joined() == "a 😀 b")
    }

    @Test("a byte-level character split across tokens is held until complete")
    func byteLevelSplitCharacter() throws {
        let tokenizer = try Fixtures.tokenizer("gpt2")
        let ids = tokenizer.encode("😀🚀", addSpecialTokens: false)
        let pieces = Self.stream(tokenizer, ids, skipSpecialTokens: true)
        #expect(ids.count > 2)
        #expect(pieces.filter { !$0.isEmpty } == ["😀", "🚀"])
    }

    /// The vocabulary's token that decodes to exactly U+FFFD (Llama 3 5809, GPT-2 4210, Llama 2 30140).
    static func replacementToken(_ tokenizer: Tokenizer) throws -> Int32 {
        let id = try #require(tokenizer.tokenId(for: "\u{FFFD}") ?? tokenizer.tokenId(for: "\u{EF}\u{BF}\u{BD}"))
        #expect(tokenizer.decode([id]) == "\u{FFFD}")
        return id
    }

    @Test("real U+FFFD tokens stream within 4 tokens and join to the full decode",
          arguments: ["llama3.2", "gpt2", "smollm-360m-instruct", "llama2-hf"])
    func replacementTokens(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        let r = try Self.replacementToken(tokenizer)
        let run = tokenizer.encode("a", addSpecialTokens: false) + Array(repeating: r, count: 9)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        var emitted = ""
        for m in 1...run.count {
            emitted += detokenizer.append(run[m - 1])
            // Each token's text is out once 3 more have come.
            #expect(emitted.utf8.count >= tokenizer.decode(Array(run.prefix(max(0, m - 3)))).utf8.count, "\(name) after \(m)")
            #expect(tokenizer.decode(Array(run.prefix(m))).hasPrefix(emitted), "\(name) after \(m)")
        }
        #expect(emitted + detokenizer.finish() == tokenizer.decode(run))

        // Mixed with split characters (byte-level pieces or byte-fallback runs), invalid runs and special tokens.
        let bytes = ["<0xFF>", "<0x41>", "<0x42>", "<0xE2>", "<0x82>"].compactMap { tokenizer.tokenId(for: $0) }
        let special = tokenizer.addedTokens.first { $0.special }.map(\.id) ?? r
        let mixes: [[Int32]] = [
            [r, r, r] + tokenizer.encode("😀🚀 x👍🏽", addSpecialTokens: false) + [r, r, r, r, r],
            tokenizer.encode("b😀", addSpecialTokens: false) + [r, special, r, special, special, r, r] + tokenizer.encode("€"),
            bytes + [r, r, r, r, r, r] + bytes.reversed() + [r, r, r, r],
            Array(tokenizer.encode("€😀", addSpecialTokens: false).dropLast()) + [r, r, r, r, r],
        ]
        for ids in mixes {
            for skip in [false, true] {
                let pieces = Self.stream(tokenizer, ids, skipSpecialTokens: skip)
                let whole = tokenizer.decode(ids, skipSpecialTokens: skip)
                #expect(pieces.joined() == whole, "\(name) skip=\(skip): \(ids)")
                #expect(pieces.map(Self.replacementCount).reduce(0, +) == Self.replacementCount(whole), "\(name): \(ids)")
            }
        }
    }

    @Test("an incomplete character at the end is flushed by finish as decode renders it")
    func incompleteAtEnd() throws {
        let tokenizer = try Fixtures.tokenizer("llama3.2")
        let all = tokenizer.encode("ok 😀🚀👍🏽", addSpecialTokens: false)
        let cut = try #require((1...all.count).first { tokenizer.decode(Array(all.prefix($0))).hasSuffix("\u{FFFD}") })
        let ids = Array(all.prefix(cut))
        let pieces = Self.stream(tokenizer, ids, skipSpecialTokens: true)
        #expect(pieces.dropLast().allSatisfy { !$0.contains("\u{FFFD}") })
        #expect(pieces.joined() == tokenizer.decode(ids))
        #expect(pieces.last?.contains("\u{FFFD}") == true)
    }
}

/// Stop strings across token boundaries, on the detokenized stream.
@Suite
struct StopStringMatcherTests {
    /// Feeds `text` to a matcher cut at `cuts`; returns the emitted text and the stop string found.
    static func run(_ pieces: [String], stops: [String]) -> (String, String?) {
        var matcher = StopStringMatcher(stopStrings: stops)
        var out = ""
        for piece in pieces {
            let o = matcher.append(piece)
            out += o.text
            if let stop = o.stop { return (out, stop) }
        }
        return (out + matcher.finish(), nil)
    }

    @Test("every split of the text finds the stop string and never emits it")
    func everySplit() {
        let text = "Hello wörld, STOP here. More"
        for cut1 in 0...text.count {
            for cut2 in cut1...text.count {
                let a = String(text.prefix(cut1))
                let b = String(text.dropFirst(cut1).prefix(cut2 - cut1))
                let c = String(text.dropFirst(cut2))
                let (out, stop) = Self.run([a, b, c], stops: ["STOP", "nothing"])
                #expect(out == "Hello wörld, ", "cuts \(cut1) \(cut2)")
                #expect(stop == "STOP")
            }
        }
    }

    @Test("held text that turns out not to be a stop string is released")
    func falseStart() {
        #expect(Self.run(["a ST", "OR", "Y"], stops: ["STOP"]) == ("a STORY", nil))
        var matcher = StopStringMatcher(stopStrings: ["STOP"])
        #expect(matcher.append("x ST") == .init(text: "x ", stop: nil))
        #expect(matcher.finish() == "ST")
    }

    @Test("the earliest stop string wins")
    func earliest() {
        #expect(Self.run(["one two three"], stops: ["three", "two"]) == ("one ", "two"))
        #expect(Self.run(["abcd"], stops: ["bc", "bcd"]) == ("a", "bcd"))
    }

    @Test("stop strings split across tokens are found on the detokenized stream",
          .enabled(if: Fixtures.available, Fixtures.missingMessage), arguments: Fixtures.tokenizerNames)
    func acrossTokens(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        let text = "Once upon a time, there was a little girl named Lily."
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        for stop in ["little girl", "ttle gi", "Lily.", "time, there"] {
            var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
            var matcher = StopStringMatcher(stopStrings: [stop])
            var emitted = ""
            var found: String?
            for id in ids {
                let o = matcher.append(detokenizer.append(id))
                emitted += o.text
                if let s = o.stop { found = s; break }
            }
            let expected = try #require(text.range(of: stop)).lowerBound
            #expect(found == stop, "\(name): \(stop)")
            #expect(emitted == String(text[..<expected]), "\(name): \(stop)")
        }
    }
}
