import Foundation

/// One adapter of a committed set and the user scale it was committed with.
public struct CommittedEntry: Sendable, Equatable, Codable {
    /// The adapter's registry name.
    public var name: String
    /// The user scale (finite).
    public var scale: Float

    /// An entry.
    public init(name: String, scale: Float) {
        self.name = name
        self.scale = scale
    }
}

/// An adapter set the engine committed, as recorded durably by `AdapterRegistry.recordCommit`.
public struct CommittedSet: Sendable, Equatable, Codable {
    /// The engine's epoch after the commit.
    public var epoch: UInt64
    /// The adapters in commit order; empty when adapters were disabled.
    public var entries: [CommittedEntry]
    /// When it was recorded.
    public var committedAt: Date

    /// A committed set.
    public init(epoch: UInt64, entries: [CommittedEntry], committedAt: Date) {
        self.epoch = epoch
        self.entries = entries
        self.committedAt = committedAt
    }
}
