import ArgumentParser
import LoraJSON

/// `lorctl adapters list`: a table of the registered adapters.
struct AdaptersListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the registered adapters."
    )

    @OptionGroup var client: ClientOptions

    func run() throws {
        let result = client.connect().callOrExit("listAdapters")
        if client.json { return printJSON(result) }
        let adapters = result["adapters"]?.arrayValue ?? []
        guard !adapters.isEmpty else { return print("no adapters registered; `lorctl adapters add NAME PATH` adds one") }
        var table = TextTable(header: ["NAME", "RANK", "ALPHA", "TARGETS", "SIZE", "ADDED", "ACTIVE", "STATE"], rightAligned: [1, 2, 4])
        for a in adapters {
            table.rows.append([
                a["name"]?.stringOrEmpty ?? "?", "\(a["rank"]?.intOrZero ?? 0)", Format.scale(a["alpha"]?.doubleOrZero ?? 0),
                Self.targets(a), Format.bytes(a["sizeBytes"]?.intOrZero ?? 0), Self.date(a["addedAt"]?.stringOrEmpty ?? ""),
                a["active"]?.boolValue == true ? "yes" : "no", Self.state(a),
            ])
        }
        print(table.rendered(), terminator: "")
    }

    /// `q_proj,v_proj`.
    static func targets(_ adapter: JSONValue) -> String {
        (adapter["targetModules"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
    }

    /// `ok`, `incompatible`, or `broken` (the reason is in `adapters show`).
    static func state(_ adapter: JSONValue) -> String {
        if adapter["broken"]?.stringValue != nil { return "broken" }
        if adapter["compatible"]?.boolValue == false { return "incompatible" }
        return "ok"
    }

    /// `2026-12-07 12:00` from `2026-12-07T12:00:00Z`.
    static func date(_ iso: String) -> String {
        guard iso.count >= 16 else { return iso }
        return String(iso.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }
}
