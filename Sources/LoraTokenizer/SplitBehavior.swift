/// What `Split`-style pre-tokenizers do with the delimiters they find (`behavior` in tokenizer.json).
enum SplitBehavior: Sendable {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous

    static func parse(_ node: JSONNode, key: String, default defaultValue: SplitBehavior) throws -> SplitBehavior {
        guard let name = try node.optionalString(key) else { return defaultValue }
        switch name {
        case "Removed": return .removed
        case "Isolated": return .isolated
        case "MergedWithPrevious": return .mergedWithPrevious
        case "MergedWithNext": return .mergedWithNext
        case "Contiguous": return .contiguous
        default: throw node.invalid(key, "unknown split behavior \"\(name)\"")
        }
    }

    /// Splits `count` bytes given the ordered, non-overlapping `matches`; returns the non-empty pieces.
    func split(count: Int, matches: [Range<Int>], invert: Bool) -> [Range<Int>] {
        if count == 0 { return [] }
        // The whole text as alternating (range, isMatch) spans, as the tokenizers library builds them.
        var spans: [(Range<Int>, Bool)] = []
        spans.reserveCapacity(matches.count * 2 + 1)
        var last = 0
        for m in matches {
            if last < m.lowerBound { spans.append((last..<m.lowerBound, invert)) }
            spans.append((m, !invert))
            last = m.upperBound
        }
        if last < count { spans.append((last..<count, invert)) }

        var out: [Range<Int>] = []
        out.reserveCapacity(spans.count)
        switch self {
        case .isolated:
            out = spans.map(\.0)
        case .removed:
            out = spans.filter { !$0.1 }.map(\.0)
        case .mergedWithPrevious:
            var previousMatch = false
            for (range, isMatch) in spans {
                if isMatch && !previousMatch, let prior = out.last {
                    out[out.count - 1] = prior.lowerBound..<range.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for (range, isMatch) in spans.reversed() {
                if isMatch && !previousMatch, let prior = out.last {
                    out[out.count - 1] = range.lowerBound..<prior.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
            out.reverse()
        case .contiguous:
            var previousMatch = false
            for (range, isMatch) in spans {
                if isMatch == previousMatch, let prior = out.last {
                    out[out.count - 1] = prior.lowerBound..<range.upperBound
                } else {
                    out.append(range)
                }
                previousMatch = isMatch
            }
        }
        return out.filter { !$0.isEmpty }
    }
}
