import Foundation

/// A Hugging Face `tokenizer.json` (BPE family) that encodes and decodes exactly as the `tokenizers` library.
/// Immutable after loading and safe to share between threads.
public final class Tokenizer: Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: BPEModel
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    let rawAddedTokens: AddedTokenMatcher
    let normalizedAddedTokens: AddedTokenMatcher
    /// The string of each added token as `decode` sees it (the normalized content for `normalized` tokens).
    let addedTokenStrings: [Int32: [UInt8]]
    /// The added tokens with `special: true`: what `decode` leaves out when skipping special tokens.
    let specialIds: Set<Int32>

    /// The added tokens of the file, in file order.
    public let addedTokens: [AddedToken]
    /// One more than the largest token id (model vocabulary and added tokens).
    public let vocabSize: Int
    /// The beginning-of-sequence token, if the files name one.
    public let bosTokenId: Int32?
    /// The tokens that end generation: `generation_config.json`'s `eos_token_id` and `tokenizer_config.json`'s
    /// `eos_token`. Empty when loaded from a bare tokenizer.json.
    public let eosTokenIds: [Int32]
    /// The file the tokenizer was read from.
    public let file: String
    /// Whether `decode` cleans up tokenization spaces by default, as transformers does (`" ."` → `"."`, `" n't"` →
    /// `"n't"`, …): tokenizer_config.json's `clean_up_tokenization_spaces`; false when the key or the file is absent.
    public let cleansUpTokenizationSpaces: Bool

    /// Loads a tokenizer.json file.
    public convenience init(contentsOf url: URL) throws {
        try self.init(url: url, configuration: nil)
    }

    /// Loads `tokenizer.json` from a model directory, with `tokenizer_config.json` and `generation_config.json`
    /// when present deciding whether BOS is added and what the stop tokens are.
    public convenience init(directory: URL) throws {
        let configuration = try TokenizerConfiguration.load(directory: directory)
        try self.init(url: directory.appendingPathComponent("tokenizer.json"), configuration: configuration)
    }

    private init(url: URL, configuration: TokenizerConfiguration?) throws {
        file = url.path
        let root = try JSONNode.parse(try TokenizerConfiguration.readFile(url), file: url.path)
        _ = try root.members()
        let modelNode = try root.required("model")
        let modelType = try modelNode.optionalString("type") ?? "BPE"
        guard modelType == "BPE" else { throw modelNode.unknown(modelType) }
        let addedNodes = try root.optional("added_tokens")?.array() ?? []
        let bpe = try BPEModel(modelNode, addedTokenCount: addedNodes.count)
        model = bpe
        normalizer = try root.optional("normalizer").map(Normalizer.parse)
        preTokenizer = try root.optional("pre_tokenizer").map(PreTokenizer.parse)
        decoder = try root.optional("decoder").map(TokenDecoder.parse)
        var postProcessor = try root.optional("post_processor").map(PostProcessor.parse)

        var added: [AddedToken] = []
        for node in addedNodes {
            added.append(AddedToken(
                id: try node.required("id").tokenIdValue(), content: try node.string("content"),
                special: try node.bool("special", default: false), singleWord: try node.bool("single_word", default: false),
                lstrip: try node.bool("lstrip", default: false), rstrip: try node.bool("rstrip", default: false),
                normalized: try node.bool("normalized", default: true)))
        }
        addedTokens = added
        var strings: [Int32: [UInt8]] = [:]
        var raw: [([UInt8], AddedToken)] = []
        var normalized: [([UInt8], AddedToken)] = []
        for token in added {
            let content = Array(token.content.utf8)
            if token.normalized {
                let pattern = normalizer?.normalize(content) ?? content
                normalized.append((pattern, token))
                strings[token.id] = pattern
            } else {
                raw.append((content, token))
                strings[token.id] = content
            }
        }
        addedTokenStrings = strings
        rawAddedTokens = AddedTokenMatcher(raw)
        normalizedAddedTokens = AddedTokenMatcher(normalized)
        specialIds = Set(added.filter(\.special).map(\.id))
        vocabSize = max(bpe.tokens.count, (added.map { Int($0.id) }.max() ?? -1) + 1)

        // Resolve BOS / EOS from the configuration files.
        let config = configuration ?? TokenizerConfiguration()
        cleansUpTokenizationSpaces = config.cleanUpTokenizationSpaces ?? false
        func resolve(_ token: String, _ component: String) throws -> Int32 {
            if let id = Self.lookUp(token, added: added, model: bpe) { return id }
            throw TokenizerError.tokenNotInVocab(file: url.deletingLastPathComponent()
                .appendingPathComponent("tokenizer_config.json").path, component: component, token: token)
        }
        let configBos = try config.bosToken.map { try resolve($0, "bos_token") }
        let configEos = try config.eosToken.map { try resolve($0, "eos_token") }
        if config.rebuildsPostProcessor {
            postProcessor = .bosEos(bos: config.addBosToken == true ? configBos : nil,
                                    eos: config.addEosToken == true ? configEos : nil)
        }
        self.postProcessor = postProcessor
        bosTokenId = configBos ?? config.generationBosId ?? postProcessor?.leadingIds.first
        var eos = config.generationEosIds
        if let configEos, !eos.contains(configEos) { eos.append(configEos) }
        eosTokenIds = eos
    }

    /// Whether `encode(_:addSpecialTokens: true)` starts with the BOS token.
    public var addsBOS: Bool {
        guard let bos = bosTokenId, let first = postProcessor?.leadingIds.first else { return false }
        return first == bos
    }

    /// The token ids of `text`. With `addSpecialTokens`, the post-processor adds its special tokens (BOS, …).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        let bytes = Array(text.utf8)
        var ids: [Int32] = []
        ids.reserveCapacity(bytes.count / 3 + 4)
        for segment in rawAddedTokens.split(bytes) {
            switch segment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                let raw = Array(bytes[range])
                let text = normalizer?.normalize(raw) ?? raw
                for inner in normalizedAddedTokens.split(text) {
                    switch inner {
                    case .token(let id):
                        ids.append(id)
                    case .text(let innerRange):
                        let piece = TextPiece(bytes: Array(text[innerRange]),
                                              startsAtOrigin: range.lowerBound == 0 && innerRange.lowerBound == 0)
                        if let preTokenizer {
                            for word in preTokenizer.preTokenize([piece]) { model.tokenize(word.bytes, into: &ids) }
                        } else {
                            model.tokenize(piece.bytes, into: &ids)
                        }
                    }
                }
            }
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    /// The text of `ids`, as transformers' `decode` gives it. With `skipSpecialTokens`, every special added token
    /// is left out by id before the decoder runs (whatever its `normalized` flag; the `tokenizers` library instead
    /// keeps a `normalized` one such as llama2-hf's `<s>`). `cleanUpTokenizationSpaces` (default: the tokenizer's
    /// `cleansUpTokenizationSpaces`) then applies transformers' `clean_up_tokenization`. Unknown ids are skipped.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false, cleanUpTokenizationSpaces: Bool? = nil) -> String {
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let token = decoderInput(id, skipSpecialTokens: skipSpecialTokens) { tokens.append(token) }
        }
        let text = decodeTokenStrings(tokens)
        return (cleanUpTokenizationSpaces ?? cleansUpTokenizationSpaces) ? TokenizationSpaceCleanup.apply(text) : text
    }

    /// The decoder's text of token strings (the decoder chain, or the strings joined by spaces without one).
    func decodeTokenStrings(_ tokens: [[UInt8]]) -> String {
        if let decoder { return decoder.decode(tokens) }
        return tokens.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
    }

    /// The token string `decode` passes to the decoder for `id`, or nil when it leaves the id out (unknown ids, and
    /// special tokens when skipping them).
    func decoderInput(_ id: Int32, skipSpecialTokens: Bool) -> [UInt8]? {
        if skipSpecialTokens && specialIds.contains(id) { return nil }
        return tokenBytes(id)
    }

    /// The token string of `id` as it appears in the vocabulary (or the added token), or nil.
    public func tokenString(for id: Int32) -> String? {
        tokenBytes(id).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The id of a token string (added tokens first, then the model vocabulary), or nil.
    public func tokenId(for token: String) -> Int32? { Self.lookUp(token, added: addedTokens, model: model) }

    private static func lookUp(_ token: String, added: [AddedToken], model: BPEModel) -> Int32? {
        if let hit = added.first(where: { $0.content == token }) { return hit.id }
        return model.id(of: Array(token.utf8))
    }

    /// Whether `id` is a special added token.
    public func isSpecial(_ id: Int32) -> Bool { specialIds.contains(id) }

    func tokenBytes(_ id: Int32) -> [UInt8]? {
        if let added = addedTokenStrings[id] { return added }
        guard id >= 0, Int(id) < model.tokens.count else { return nil }
        return model.tokens[Int(id)]
    }
}
