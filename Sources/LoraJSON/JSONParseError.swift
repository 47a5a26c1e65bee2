/// Why a JSON text could not be parsed, with the byte offset where the problem was found.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure: bad syntax, or a limit of `JSONParseOptions` passed.
    public enum Kind: Sendable, Equatable {
        /// The text is not JSON (or not strict JSON in strict mode).
        case syntax
        /// Arrays and objects nest deeper than `maxDepth`.
        case tooDeep
        /// A string or the number of values passed `maxStringBytes` or `maxElements`.
        case tooLarge
    }

    /// The kind of failure.
    public let kind: Kind
    /// What is wrong, in words.
    public let message: String
    /// The byte offset in the input.
    public let offset: Int

    /// An error of `kind` at `offset`.
    public init(kind: Kind = .syntax, message: String, offset: Int) {
        self.kind = kind
        self.message = message
        self.offset = offset
    }

    /// "message at byte N".
    public var description: String { "\(message) at byte \(offset)" }
}
