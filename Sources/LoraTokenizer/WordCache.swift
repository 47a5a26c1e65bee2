import Foundation

/// A bounded, thread-safe cache from a word to its BPE ids: the same words recur constantly in real text.
final class WordCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [ByteKey: [Int32]] = [:]
    private let capacity: Int
    /// Words of this many bytes or more are not cached, as in the tokenizers library.
    let maxWordLength = 256

    init(capacity: Int) { self.capacity = capacity }

    func lookup(_ key: ByteKey) -> [Int32]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[key]
    }

    func store(_ key: ByteKey, _ ids: [Int32]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[key] = ids
    }
}
