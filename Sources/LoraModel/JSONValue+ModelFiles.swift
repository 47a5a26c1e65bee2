import LoraJSON

/// How LoraModel reads its JSON inputs from disk (safetensors headers, `adapter_config.json`): one grammar
/// (LoraJSON, strict RFC 8259) and one integer rule for both.
extension JSONValue {
    /// Deepest nesting accepted in a model file; they nest three or four levels, and a hostile 100 MiB header
    /// of `[[[[` must fail fast.
    static let modelFileMaxDepth = 64

    /// Parses a model file strictly (invalid UTF-8, lone surrogates, `01`, `+1` are errors) and refuses a key
    /// given twice in one object: LoraJSON keeps both, and which one a reader took would decide which of two
    /// tensors or two ranks is meant. Keys are compared as Swift strings (canonical equivalence), as the
    /// dictionaries they end up in compare them, so two spellings of one name cannot collapse silently.
    static func parseModelFile(_ bytes: some Collection<UInt8>) throws(ModelFileJSONError) -> JSONValue {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes, options: JSONParseOptions(maxDepth: modelFileMaxDepth))
        } catch {
            throw .syntax(error)
        }
        if let key = value.firstRepeatedKey() { throw .repeatedKey(key) }
        return value
    }

    /// The first key that appears twice within one object, searching depth first; nil when there is none.
    /// The recursion is bounded by the parser's depth cap.
    func firstRepeatedKey() -> String? {
        switch self {
        case .object(let members):
            var seen: Set<String> = []
            for (key, _) in members where !seen.insert(key).inserted { return key }
            for (_, value) in members { if let key = value.firstRepeatedKey() { return key } }
            return nil
        case .array(let items):
            for item in items { if let key = item.firstRepeatedKey() { return key } }
            return nil
        default:
            return nil
        }
    }

    /// The one integer rule LoraModel applies, in safetensors headers (shapes, offsets) and PEFT configs (`r`,
    /// `rank_pattern`, `layers_to_transform`) alike: `JSONNumber`'s exact-integer reading (`8`, `8.0` and `8e0`
    /// are 8; `1.5`, `1e-1` and `1e400` are refused, never truncated), within Int, at least `minimum`.
    /// Strings (`"1"`), booleans and null are not integers.
    func integer(minimum: Int = 0) throws(JSONNumberError) -> Int {
        guard case .number(let number) = self else { throw JSONNumberError(found: serializedString, problem: notANumberProblem) }
        guard let value = number.int else {
            // Whole but too large (2^63, 1e400), or not whole (1.5): say which.
            let d = Double(number.text) ?? 0
            let whole = number.int128 != nil || d.isInfinite || (abs(d) >= 0x1p53 && d == d.rounded())
            throw JSONNumberError(found: number.text, problem: whole ? "is beyond the 64-bit integer range" : "is not a whole number")
        }
        guard value >= minimum else {
            throw JSONNumberError(found: number.text, problem: minimum == 0 ? "is negative" : "must be at least \(minimum)")
        }
        return value
    }

    /// A JSON number as a finite Double; `1e400` (infinite as a Double) is refused, not turned into infinity.
    func finiteDouble() throws(JSONNumberError) -> Double {
        guard case .number(let number) = self else { throw JSONNumberError(found: serializedString, problem: notANumberProblem) }
        guard let value = number.double else {
            throw JSONNumberError(found: number.text, problem: "is beyond the range of a 64-bit float")
        }
        return value
    }

    private var notANumberProblem: String {
        switch self {
        case .string: return "is a string, not a number (write the number without quotes)"
        case .bool: return "is a boolean, not a number"
        default: return "is \(kindDescription), not a number"
        }
    }
}
