import Foundation

/// Sizes, durations, counts and scales in units people read at a glance.
enum Format {
    /// `512 B`, `103.2 KiB`, `1.1 MiB`, `4.0 GiB`.
    static func bytes(_ count: Int) -> String {
        guard count >= 1024 else { return "\(count) B" }
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(count) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return String(format: "%.1f %@", value, units[unit])
    }

    /// `0.4 ms`, `812 ms`, `1.2 s`, `2m 05s`, `3h 04m`, `2d 03h`.
    static func duration(seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 0.001 { return String(format: "%.2f ms", seconds * 1000) }
        if seconds < 0.01 { return String(format: "%.1f ms", seconds * 1000) }
        if seconds < 1 { return String(format: "%.0f ms", seconds * 1000) }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds)
        if whole < 3600 { return String(format: "%dm %02ds", whole / 60, whole % 60) }
        if whole < 86400 { return String(format: "%dh %02dm", whole / 3600, whole % 3600 / 60) }
        return String(format: "%dd %02dh", whole / 86400, whole % 86400 / 3600)
    }

    /// An age known to the second (from an ISO 8601 timestamp): `0s`, `42s`, then as `duration`.
    static func age(seconds: Double) -> String {
        seconds < 60 ? "\(Int(max(0, seconds)))s" : duration(seconds: seconds)
    }

    /// A duration given in milliseconds.
    static func duration(milliseconds: Double) -> String { duration(seconds: milliseconds / 1000) }

    /// `260.2K`, `7.24B`: parameter and token counts.
    static func count(_ value: Int) -> String {
        let magnitude = Double(value)
        if value < 1000 { return "\(value)" }
        if value < 1_000_000 { return String(format: "%.1fK", magnitude / 1e3) }
        if value < 1_000_000_000 { return String(format: "%.1fM", magnitude / 1e6) }
        return String(format: "%.2fB", magnitude / 1e9)
    }

    /// A LoRA scale without float noise: `1`, `0.5`, `0.1` (the daemon stores scales as Float).
    static func scale(_ value: Double) -> String { String(format: "%g", value) }

    /// `1 job`, `3 jobs`.
    static func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
}
