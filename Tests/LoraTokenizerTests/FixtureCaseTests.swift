import Foundation
import Testing
@testable import LoraTokenizer

/// Every case of every cases.json: ids and decodes exactly as the `tokenizers` library produced them.
@Suite(.enabled(if: Fixtures.available, Fixtures.missingMessage))
struct FixtureCaseTests {
    @Test("encode without special tokens", arguments: Fixtures.tokenizerNames)
    func encodePlain(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            #expect(tokenizer.encode(c.text, addSpecialTokens: false) == c.ids, "\(name): \(c.text.debugDescription)")
        }
    }

    @Test("encode with special tokens", arguments: Fixtures.tokenizerNames)
    func encodeSpecial(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            #expect(tokenizer.encode(c.text, addSpecialTokens: true) == c.idsWithSpecialTokens,
                    "\(name): \(c.text.debugDescription)")
        }
    }

    @Test("decode", arguments: Fixtures.tokenizerNames)
    func decode(name: String) throws {
        let tokenizer = try Fixtures.tokenizer(name)
        for c in try Fixtures.cases(name) {
            #expect(tokenizer.decode(c.ids, skipSpecialTokens: false) == c.decoded, "\(name): \(c.text.debugDescription)")
            #expect(tokenizer.decode(c.idsWithSpecialTokens, skipSpecialTokens: true) == c.decodedSkipSpecial,
                    "\(name): \(c.text.debugDescription)")
        }
    }

    @Test("every case file has every corpus line", arguments: Fixtures.tokenizerNames)
    func casesCoverCorpus(name: String) throws {
        #expect(try Fixtures.cases(name).map(\.text) == Fixtures.corpus())
    }
}
