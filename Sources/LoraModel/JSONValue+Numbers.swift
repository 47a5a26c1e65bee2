/// Why a JSON value is not the number a field needs. The caller names the field; this says what was found
/// and what is wrong with it.
struct JSONNumberError: Error, Equatable, CustomStringConvertible {
    /// The value as written.
    let found: String
    /// What is wrong, phrased to follow the value ("is negative").
    let problem: String

    var description: String { "\(found) \(problem)" }
}

extension JSONValue {
    /// The one rule LoraModel applies to a JSON integer, in safetensors headers (shapes, offsets) and PEFT
    /// configs (`r`, `rank_pattern`, `layers_to_transform`) alike: an integer literal (no fraction, no
    /// exponent: `1.0`, `1.5`, `1e2` are refused rather than truncated), within Int, at least `minimum`.
    /// Strings (`"1"`), booleans and null are not integers.
    func integer(minimum: Int = 0) throws(JSONNumberError) -> Int {
        guard case .number(let literal) = self else { throw JSONNumberError(found: rendered, problem: notANumber) }
        guard !literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else {
            throw JSONNumberError(found: literal, problem: "is not an exact integer (write it without a fraction or exponent)")
        }
        // The parser checked the grammar, so Int() fails only beyond the 64-bit range.
        guard let value = Int(literal) else {
            throw JSONNumberError(found: literal, problem: "is beyond the 64-bit integer range")
        }
        guard value >= minimum else {
            throw JSONNumberError(found: literal, problem: minimum == 0 ? "is negative" : "must be at least \(minimum)")
        }
        return value
    }

    /// A JSON number as a finite Double; `1e400` (infinite as a Double) is refused, not turned into infinity.
    func finiteDouble() throws(JSONNumberError) -> Double {
        guard case .number(let literal) = self else { throw JSONNumberError(found: rendered, problem: notANumber) }
        guard let value = Double(literal), value.isFinite else {
            throw JSONNumberError(found: literal, problem: "is beyond the range of a 64-bit float")
        }
        return value
    }

    private var notANumber: String {
        switch self {
        case .string: return "is a string, not a number (write the number without quotes)"
        case .bool: return "is a boolean, not a number"
        default: return "is not a number"
        }
    }
}
