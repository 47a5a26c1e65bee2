import Foundation

/// Durations as people type them on a command line: `30s`, `500ms`, `2m`, `1h`, `1m30s`, `1.5s`; a bare
/// number is seconds.
enum DurationText {
    /// The milliseconds `text` means, or nil when it is not a duration.
    static func milliseconds(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed) { return seconds >= 0 && seconds.isFinite ? Int((seconds * 1000).rounded()) : nil }
        var total = 0.0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            guard let factor = factors[unit.lowercased()] else { return nil }
            total += value * factor
        }
        guard total.isFinite, total < Double(Int32.max) * 1000 else { return nil }
        return Int(total.rounded())
    }

    /// Milliseconds per unit.
    private static let factors: [String: Double] = ["ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000]

    /// The error for a value that is not a duration.
    static func invalid(_ option: String, _ text: String) -> String {
        "\(option) takes a duration such as 30s, 500ms, 2m or 1m30s (a bare number is seconds); got '\(text)'"
    }
}
