import Foundation
import Testing
@testable import LoraTokenizer

/// Small hand-written tokenizer.json files: model options the fixtures do not exercise, and broken files.
@Suite
struct TokenizerFileTests {
    static let vocab = ###"{"<unk>":0,"a":1,"b":2,"c":3,"##b":4,"##c":5,"a##b":6,"ab":7,"c</w>":8,"##c</w>":9,"##b</w>":10,"b</w>":11,"a</w>":12,"[M]":13,"[X]":14,"x":15}"###
    static let addedTokens = #"""
    [{"id":13,"content":"[M]","single_word":false,"lstrip":true,"rstrip":true,"normalized":false,"special":true},
     {"id":14,"content":"[X]","single_word":true,"lstrip":false,"rstrip":false,"normalized":false,"special":false}]
    """#

    static func json(prefix: String = "null", suffix: String = "null", fuseUnk: Bool = false, added: String = "[]",
                     merges: String = #"["a b"]"#, vocab: String = vocab, preTokenizer: String = #"{"type":"WhitespaceSplit"}"#,
                     normalizer: String = "null", decoder: String = "null") -> String {
        #"""
        {"version":"1.0","added_tokens":\#(added),"normalizer":\#(normalizer),"pre_tokenizer":\#(preTokenizer),
         "post_processor":null,"decoder":\#(decoder),
         "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","continuing_subword_prefix":\#(prefix),
          "end_of_word_suffix":\#(suffix),"fuse_unk":\#(fuseUnk),"byte_fallback":false,"vocab":\#(vocab),"merges":\#(merges)}}
        """#
    }

    static func load(_ text: String, name: String = "tokenizer.json") throws -> Tokenizer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return try Tokenizer(contentsOf: url)
    }

    /// Expected values from the tokenizers library 0.23.3 on the same files.
    @Test("continuing_subword_prefix, end_of_word_suffix, unk, fuse_unk, pair-form merges")
    func modelOptions() throws {
        let prefixed = try Self.load(Self.json(prefix: ###""##""###, merges: ###"[["a","##b"]]"###))
        #expect(prefixed.encode("ab abc zzq abzz") == [7, 7, 5, 0, 0, 0, 7, 0, 0])
        let fused = try Self.load(Self.json(prefix: ###""##""###, fuseUnk: true, merges: ###"[["a","##b"]]"###))
        #expect(fused.encode("ab abc zzq abzz") == [7, 7, 5, 0, 7, 0])
        let suffixed = try Self.load(Self.json(suffix: #""</w>""#))
        #expect(suffixed.encode("ab abc zzq abzz") == [1, 11, 7, 8, 0, 0, 0, 7, 0, 0])
        #expect(suffixed.encode("a [M] b") == [12, 0, 0, 0, 11])
    }

    @Test("added tokens: lstrip, rstrip, single_word; decode without a decoder joins with spaces")
    func addedTokenRules() throws {
        let tokenizer = try Self.load(Self.json(fuseUnk: true, added: Self.addedTokens))
        #expect(tokenizer.encode("ab abc zzq abzz") == [7, 7, 3, 0, 7, 0])
        #expect(tokenizer.encode("a [M] b") == [1, 13, 2])
        #expect(tokenizer.encode("x[X]x [X] a") == [15, 0, 15, 14, 1])
        #expect(tokenizer.encode("ab[M]c") == [7, 13, 3])
        #expect(tokenizer.decode([15, 0, 15, 14, 1], skipSpecialTokens: true) == "x <unk> x [X] a")
        #expect(tokenizer.decode([1, 13, 2], skipSpecialTokens: true) == "a b")
        #expect(tokenizer.decode([1, 13, 2], skipSpecialTokens: false) == "a [M] b")
        #expect(tokenizer.isSpecial(13) && !tokenizer.isSpecial(14))
        #expect(tokenizer.vocabSize == 16)
        #expect(tokenizer.tokenString(for: 7) == "ab")
        #expect(tokenizer.tokenId(for: "[M]") == 13)
    }

    static func error(_ text: String, name: String = "tokenizer.json") -> TokenizerError? {
        do {
            _ = try load(text, name: name)
            return nil
        } catch {
            return error as? TokenizerError
        }
    }

    @Test("invalid JSON is reported with the file")
    func invalidJSON() throws {
        let error = try #require(Self.error(#"{"model": {"type": "BPE", "#, name: "broken.json"))
        guard case .invalidJSON = error else { Issue.record("got \(error)"); return }
        #expect(error.description.contains("broken.json"))
    }

    @Test("an unknown component is an error naming it and the file", arguments: [
        ("pre_tokenizer", #"{"type":"BertPreTokenizer"}"#, "BertPreTokenizer"),
        ("normalizer", #"{"type":"Precompiled","precompiled_charsmap":""}"#, "Precompiled"),
        ("decoder", #"{"type":"CTC"}"#, "CTC"),
        ("normalizer", #"{"type":"Sequence","normalizers":[{"type":"NFC"},{"type":"BertNormalizer"}]}"#, "BertNormalizer"),
    ])
    func unknownComponent(key: String, component: String, type: String) throws {
        let text: String
        switch key {
        case "pre_tokenizer": text = Self.json(preTokenizer: component)
        case "normalizer": text = Self.json(normalizer: component)
        default: text = Self.json(decoder: component)
        }
        let error = try #require(Self.error(text, name: "odd.json"))
        guard case .unknownComponent(_, let path, let found) = error else { Issue.record("got \(error)"); return }
        #expect(found == type)
        #expect(path.contains(key))
        #expect(error.description.contains("odd.json") && error.description.contains(type))
    }

    @Test("an unknown post-processor or model type is an error")
    func unknownPostProcessorAndModel() throws {
        let roberta = Self.json().replacingOccurrences(of: #""post_processor":null"#,
                                                       with: #""post_processor":{"type":"RobertaProcessing"}"#)
        #expect(Self.error(roberta)?.description.contains("RobertaProcessing") == true)
        let wordPiece = Self.json().replacingOccurrences(of: #""type":"BPE""#, with: #""type":"WordPiece""#)
        #expect(Self.error(wordPiece)?.description.contains("WordPiece") == true)
    }

    @Test("merges naming tokens not in the vocab")
    func mergeNotInVocab() throws {
        let missingPart = try #require(Self.error(Self.json(merges: #"["a q"]"#)))
        #expect(missingPart == .mergeTokenNotInVocab(file: missingPart.fileForTest, mergeIndex: 0, token: "q"))
        let missingResult = try #require(Self.error(Self.json(merges: #"["c a"]"#)))
        #expect(missingResult == .mergeTokenNotInVocab(file: missingResult.fileForTest, mergeIndex: 0, token: "ca"))
        #expect(Self.error(Self.json(merges: #"["ab"]"#))?.description.contains("merges") == true)
    }

    @Test("missing vocab or model")
    func missingVocab() throws {
        let noVocab = Self.json().replacingOccurrences(of: #""vocab":\#(Self.vocab),"#, with: "")
        let error = try #require(Self.error(noVocab))
        guard case .missingKey(_, _, "vocab") = error else { Issue.record("got \(error)"); return }
        let noModel = try #require(Self.error(#"{"added_tokens":[]}"#))
        guard case .missingKey(_, _, "model") = noModel else { Issue.record("got \(noModel)"); return }
    }

    @Test("a token id outside 32 bits is an error, not a crash")
    func tokenIdOutOfRange() throws {
        let added = #"[{"id":1099511627776,"content":"[M]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}]"#
        let error = try #require(Self.error(Self.json(added: added)))
        #expect(error.description.contains("token id"), "got \(error)")
    }

    @Test("a vocab id far above the number of tokens is an error, not a 16 GiB table; a modest gap still loads")
    func sparseVocabId() throws {
        let sparse = Self.vocab.replacingOccurrences(of: #""x":15"#, with: #""x":2147483646"#)
        let error = try #require(Self.error(Self.json(vocab: sparse)))
        guard case .invalidValue(_, "root.model.vocab", "x", let reason) = error else { Issue.record("got \(error)"); return }
        #expect(reason.contains("2147483646") && reason.contains("dense"), "got \(error)")
        let gapped = try Self.load(Self.json(vocab: Self.vocab.replacingOccurrences(of: #""x":15"#, with: #""x":1000"#)))
        #expect(gapped.encode("x") == [1000] && gapped.vocabSize == 1001)
    }

    @Test("an unreadable file")
    func unreadable() {
        #expect(throws: TokenizerError.self) { try Tokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json")) }
    }
}

extension TokenizerError {
    var fileForTest: String {
        if case .mergeTokenNotInVocab(let file, _, _) = self { return file }
        return ""
    }
}
