/// What startup recovery found and did, for the log and `status`.
public struct RecoveryReport: Sendable, Equatable {
    /// An adapter whose stored files are missing or corrupt, and why.
    public struct BrokenAdapter: Sendable, Equatable {
        /// The adapter's name.
        public var name: String
        /// What is wrong with its files.
        public var reason: String

        /// An entry.
        public init(name: String, reason: String) {
            self.name = name
            self.reason = reason
        }
    }

    /// Leftover temporary import directories that were removed (paths).
    public var removedTemporaryDirectories: [String] = []
    /// Directories under `adapters/` that no row referenced, removed (paths).
    public var removedOrphanDirectories: [String] = []
    /// Adapters whose files are missing or corrupt, marked broken.
    public var brokenAdapters: [BrokenAdapter] = []
    /// Adapters whose broken mark was cleared because their files match their digest again.
    public var repairedAdapters: [String] = []
    /// Adapters validated against another model (kept, not usable with this one).
    public var incompatibleAdapters: [String] = []

    /// An empty report.
    public init() {}

    /// Whether recovery found nothing to report.
    public var isClean: Bool {
        removedTemporaryDirectories.isEmpty && removedOrphanDirectories.isEmpty && brokenAdapters.isEmpty
            && repairedAdapters.isEmpty && incompatibleAdapters.isEmpty
    }
}
