/// Finds stop strings in a stream of text pieces, across piece boundaries. Text that could be the start of a
/// stop string is held back until it is known not to be, so the text of a matched stop string is never emitted.
public struct StopStringMatcher: Sendable {
    /// What to emit after a piece of text.
    public struct Output: Sendable, Equatable {
        /// Text that is final and contains no part of a stop string.
        public let text: String
        /// The stop string that matched, if one did; the stream ends here and later input is ignored.
        public let stop: String?
    }

    /// The stop strings looked for (empty strings are ignored).
    public let stopStrings: [String]
    private let patterns: [[UInt8]]
    private var held: [UInt8] = []
    /// The stop string that matched, once one has.
    public private(set) var matchedStop: String?

    /// A matcher for `stopStrings`.
    public init(stopStrings: [String]) {
        let kept = stopStrings.filter { !$0.isEmpty }
        self.stopStrings = kept
        self.patterns = kept.map { Array($0.utf8) }
    }

    /// Adds a piece of text; returns what may be emitted now and whether a stop string matched.
    public mutating func append(_ text: String) -> Output {
        if matchedStop != nil { return Output(text: "", stop: matchedStop) }
        held.append(contentsOf: text.utf8)
        if let (position, index) = earliestMatch() {
            let before = String(decoding: held[..<position], as: UTF8.self)
            held.removeAll()
            matchedStop = stopStrings[index]
            return Output(text: before, stop: matchedStop)
        }
        let keep = longestSuffixThatStartsAStop()
        let emit = String(decoding: held[..<(held.count - keep)], as: UTF8.self)
        held.removeFirst(held.count - keep)
        return Output(text: emit, stop: nil)
    }

    /// Ends the stream: returns the held text (it was not the start of a stop string after all).
    public mutating func finish() -> String {
        defer { held.removeAll() }
        return matchedStop == nil ? String(decoding: held, as: UTF8.self) : ""
    }

    /// The earliest position where a stop string occurs (the longest one on a tie), with its index.
    private func earliestMatch() -> (Int, Int)? {
        var best: (Int, Int)?
        for (index, pattern) in patterns.enumerated() where pattern.count <= held.count {
            var start = 0
            while start + pattern.count <= held.count {
                if let (bestStart, _) = best, start > bestStart { break }
                if held[start] == pattern[0] && held[start..<(start + pattern.count)].elementsEqual(pattern) {
                    if let (bestStart, bestIndex) = best, bestStart == start,
                       patterns[bestIndex].count >= pattern.count { break }
                    best = (start, index)
                    break
                }
                start += 1
            }
        }
        return best
    }

    /// The length of the longest suffix of the held text that is a proper prefix of some stop string.
    private func longestSuffixThatStartsAStop() -> Int {
        var longest = 0
        for pattern in patterns {
            var length = min(pattern.count - 1, held.count)
            while length > longest {
                if held[(held.count - length)...].elementsEqual(pattern[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}
