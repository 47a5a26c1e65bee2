/// Why a JSON value is not the number a field needs. The caller names the field; this says what was found
/// and what is wrong with it.
struct JSONNumberError: Error, Equatable, CustomStringConvertible {
    /// The value as written.
    let found: String
    /// What is wrong, phrased to follow the value ("is negative").
    let problem: String

    var description: String { "\(found) \(problem)" }
}
