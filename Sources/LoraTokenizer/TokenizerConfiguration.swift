import Foundation

/// What `tokenizer_config.json` and `generation_config.json` say about BOS, EOS and stop tokens.
struct TokenizerConfiguration {
    var tokenizerClass: String?
    var addBosToken: Bool?
    var addEosToken: Bool?
    var bosToken: String?
    var eosToken: String?
    var cleanUpTokenizationSpaces: Bool?
    var generationBosId: Int32?
    var generationEosIds: [Int32] = []

    /// Reads whichever of the two files exist in `directory`.
    static func load(directory: URL) throws -> TokenizerConfiguration {
        var config = TokenizerConfiguration()
        let tokenizerConfig = directory.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: tokenizerConfig.path) {
            let root = try JSONNode.parse(try readFile(tokenizerConfig), file: tokenizerConfig.path)
            config.tokenizerClass = try root.optionalString("tokenizer_class")
            if try root.optional("add_bos_token") != nil { config.addBosToken = try root.bool("add_bos_token", default: false) }
            if try root.optional("add_eos_token") != nil { config.addEosToken = try root.bool("add_eos_token", default: false) }
            config.bosToken = try tokenContent(root, "bos_token")
            config.eosToken = try tokenContent(root, "eos_token")
            config.cleanUpTokenizationSpaces = try root.optional("clean_up_tokenization_spaces")?.boolValue()
        }
        let generationConfig = directory.appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: generationConfig.path) {
            let root = try JSONNode.parse(try readFile(generationConfig), file: generationConfig.path)
            // transformers allows a list for either key; as in LoraModel's GenerationConfig, BOS is its first id.
            if let bos = try root.optional("bos_token_id") { config.generationBosId = try tokenIds(bos).first }
            if let eos = try root.optional("eos_token_id") { config.generationEosIds = try tokenIds(eos) }
        }
        return config
    }

    /// Whether transformers rebuilds this tokenizer's post-processor from `add_bos_token` / `add_eos_token`
    /// (it does for the Llama, CodeLlama and Gemma fast tokenizers).
    var rebuildsPostProcessor: Bool {
        guard addBosToken != nil || addEosToken != nil, let name = tokenizerClass else { return false }
        let base = name.hasSuffix("Fast") ? String(name.dropLast(4)) : name
        return ["LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer"].contains(base)
    }

    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(file: url.path, reason: error.localizedDescription)
        }
    }

    /// A token id or a list of them.
    private static func tokenIds(_ node: JSONNode) throws -> [Int32] {
        node.isArray ? try node.array().map { try $0.tokenIdValue() } : [try node.tokenIdValue()]
    }

    /// A token given either as a string or as an `AddedToken` object with `content`.
    private static func tokenContent(_ root: JSONNode, _ key: String) throws -> String? {
        guard let node = try root.optional(key) else { return nil }
        if case .string(let string) = node.value { return string }
        return try node.string("content")
    }
}
