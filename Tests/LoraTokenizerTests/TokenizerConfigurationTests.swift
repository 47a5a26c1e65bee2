import Foundation
import Testing
@testable import LoraTokenizer

/// `Tokenizer(directory:)`: tokenizer_config.json and generation_config.json decide BOS and stop tokens.
@Suite(.enabled(if: Fixtures.available, Fixtures.missingMessage))
struct TokenizerConfigurationTests {
    @Test("BOS and EOS of the fixture model directories")
    func fixtureDirectories() throws {
        let llama2 = try Tokenizer(directory: Fixtures.tokenizerDirectory("llama2-hf"))
        #expect(llama2.bosTokenId == 1 && llama2.eosTokenIds == [2] && llama2.addsBOS)
        #expect(llama2.encode("Hello world") == [1, 15043, 3186])
        let gpt2 = try Tokenizer(directory: Fixtures.tokenizerDirectory("gpt2"))
        #expect(gpt2.bosTokenId == 50256 && gpt2.eosTokenIds == [50256] && !gpt2.addsBOS)
        let smollm = try Tokenizer(directory: Fixtures.tokenizerDirectory("smollm-360m-instruct"))
        #expect(smollm.bosTokenId == 1 && smollm.eosTokenIds == [2] && !smollm.addsBOS)
        let bare = try Fixtures.tokenizer("tok512")
        #expect(bare.bosTokenId == 1 && bare.eosTokenIds.isEmpty && bare.addsBOS)
    }

    /// A fresh directory holding tok512's tokenizer.json, for tests that add config files beside it.
    static func copyOfTok512() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lorad-tokcfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: Fixtures.tokenizerDirectory("tok512").appendingPathComponent("tokenizer.json"),
            to: directory.appendingPathComponent("tokenizer.json"))
        return directory
    }

    @Test("add_bos_token / add_eos_token rebuild a Llama tokenizer's template; generation_config adds stop tokens")
    func overrides() throws {
        let directory = try Self.copyOfTok512()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"tokenizer_class":"LlamaTokenizer","add_bos_token":false,"add_eos_token":true,"bos_token":"<s>","eos_token":{"content":"</s>"}}"#.utf8)
            .write(to: directory.appendingPathComponent("tokenizer_config.json"))
        try Data(#"{"bos_token_id":1,"eos_token_id":[2,1]}"#.utf8).write(to: directory.appendingPathComponent("generation_config.json"))
        let tokenizer = try Tokenizer(directory: directory)
        let plain = tokenizer.encode("Lily", addSpecialTokens: false)
        #expect(tokenizer.encode("Lily") == plain + [2])
        #expect(!tokenizer.addsBOS)
        #expect(tokenizer.bosTokenId == 1)
        #expect(tokenizer.eosTokenIds == [2, 1])
    }

    @Test("generation_config.json may give bos_token_id as a list: its first id is the BOS, as LoraModel reads it")
    func bosTokenIdList() throws {
        let directory = try Self.copyOfTok512()
        defer { try? FileManager.default.removeItem(at: directory) }
        let generationConfig = directory.appendingPathComponent("generation_config.json")
        // 2, not the template's 1, so the list is what decides.
        try Data(#"{"bos_token_id":[2,1],"eos_token_id":[2,1]}"#.utf8).write(to: generationConfig)
        let listed = try Tokenizer(directory: directory)
        #expect(listed.bosTokenId == 2 && listed.eosTokenIds == [2, 1])
        try Data(#"{"bos_token_id":[],"eos_token_id":2}"#.utf8).write(to: generationConfig)
        let empty = try Tokenizer(directory: directory)
        #expect(empty.bosTokenId == 1 && empty.eosTokenIds == [2])
        try Data(#"{"bos_token_id":["<s>"]}"#.utf8).write(to: generationConfig)
        #expect(throws: TokenizerError.self) { try Tokenizer(directory: directory) }
    }

    @Test("a config naming a token that does not exist is an error")
    func unknownConfigToken() throws {
        let directory = try Self.copyOfTok512()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"eos_token":"<|nope|>"}"#.utf8).write(to: directory.appendingPathComponent("tokenizer_config.json"))
        #expect(throws: TokenizerError.tokenNotInVocab(file: directory.appendingPathComponent("tokenizer_config.json").path,
                                                       component: "eos_token", token: "<|nope|>")) {
            try Tokenizer(directory: directory)
        }
    }
}
