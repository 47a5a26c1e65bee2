/// The result of re-hashing one adapter's stored files.
public struct VerifyOutcome: Sendable, Equatable, Codable {
    /// The adapter's name.
    public var name: String
    /// Whether the files are present and match the digest.
    public var ok: Bool
    /// What is wrong when `ok` is false.
    public var problem: String?

    /// An outcome.
    public init(name: String, ok: Bool, problem: String?) {
        self.name = name
        self.ok = ok
        self.problem = problem
    }
}
