/// A `post_processor` of tokenizer.json: adds the special tokens around an encoded sequence when
/// `addSpecialTokens` is true.
indirect enum PostProcessor: Sendable {
    /// `TemplateProcessing`'s `single` template: each item is either fixed ids or the sequence itself (nil).
    case template([[Int32]?])
    /// `ByteLevel`: only adjusts offsets, so the ids are unchanged.
    case byteLevel
    case sequence([PostProcessor])

    static func parse(_ node: JSONNode) throws -> PostProcessor {
        let type = try node.typeName()
        switch type {
        case "TemplateProcessing":
            let specials = try node.optional("special_tokens")
            var items: [[Int32]?] = []
            for item in try node.required("single").array() {
                if let special = try item.optional("SpecialToken") {
                    let name = try special.string("id")
                    guard let entry = try specials?.optional(name) else {
                        throw TokenizerError.tokenNotInVocab(file: node.file, component: "\(node.path).special_tokens",
                                                             token: name)
                    }
                    items.append(try entry.required("ids").array().map { try $0.tokenIdValue() })
                } else if try item.optional("Sequence") != nil {
                    items.append(nil)
                } else {
                    throw item.invalid("single", "an item must be a SpecialToken or a Sequence")
                }
            }
            return .template(items)
        case "ByteLevel":
            return .byteLevel
        case "Sequence":
            return .sequence(try node.required("processors").array().map(parse))
        default:
            throw node.unknown(type)
        }
    }

    /// A template with BOS and/or EOS around the sequence, as transformers builds it from
    /// `add_bos_token` / `add_eos_token`.
    static func bosEos(bos: Int32?, eos: Int32?) -> PostProcessor {
        var items: [[Int32]?] = []
        if let bos { items.append([bos]) }
        items.append(nil)
        if let eos { items.append([eos]) }
        return .template(items)
    }

    func process(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .template(let items):
            var out: [Int32] = []
            out.reserveCapacity(ids.count + items.count)
            for item in items {
                if let fixed = item { out.append(contentsOf: fixed) } else { out.append(contentsOf: ids) }
            }
            return out
        case .byteLevel:
            return ids
        case .sequence(let steps):
            return steps.reduce(ids) { $1.process($0) }
        }
    }

    /// The ids the processor puts before the sequence (the BOS of most templates).
    var leadingIds: [Int32] {
        switch self {
        case .template(let items):
            var out: [Int32] = []
            for item in items { guard let fixed = item else { break }; out.append(contentsOf: fixed) }
            return out
        case .byteLevel:
            return []
        case .sequence(let steps):
            return steps.flatMap(\.leadingIds)
        }
    }
}
