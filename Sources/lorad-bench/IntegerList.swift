import ArgumentParser
import Foundation

/// A comma-separated list of integers on the command line (`--batches 1,4,16`). A malformed entry is an error,
/// not silently dropped; each command checks the range its list needs in `validate()`.
struct IntegerList: ExpressibleByArgument, CustomStringConvertible {
    let values: [Int]

    init(_ values: [Int]) { self.values = values }

    init?(argument: String) {
        let parsed = argument.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, !parsed.contains(nil) else { return nil }
        values = parsed.compactMap { $0 }
    }

    var description: String { values.map(String.init).joined(separator: ",") }
    var defaultValueDescription: String { description }

    /// Throws a `ValidationError` naming `option` unless every value is at least `minimum`.
    func require(atLeast minimum: Int, option: String) throws {
        if let bad = values.first(where: { $0 < minimum }) {
            throw ValidationError("\(option): \(bad) is below \(minimum)")
        }
    }
}

/// Throws a `ValidationError` naming `option` unless `value` is at least `minimum`.
func requireAtLeast(_ minimum: Int, _ value: Int, option: String) throws {
    guard value >= minimum else { throw ValidationError("\(option) must be at least \(minimum) (got \(value))") }
}
