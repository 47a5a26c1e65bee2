import ArgumentParser
import LoraJSON

/// `lorctl adapters verify [NAME]`: re-hashes stored adapter files (verifyAdapters).
struct AdaptersVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash the stored files of one adapter, or all.",
        discussion: "Exits 1 when an adapter's files are missing or do not match its digest (it is then marked broken)."
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The adapter's name (default: all).")
    var name: String?

    func run() throws {
        let result = client.connect().callOrExit("verifyAdapters", name.map { ["name": .string($0)] })
        let adapters = result["adapters"]?.arrayValue ?? []
        let bad = adapters.filter { $0["ok"]?.boolValue != true }
        if client.json {
            printJSON(result)
        } else if adapters.isEmpty {
            print("no adapters registered")
        } else {
            var table = TextTable(header: ["NAME", "RESULT", "PROBLEM"])
            for a in adapters {
                let ok = a["ok"]?.boolValue == true
                table.rows.append([a["name"]?.stringOrEmpty ?? "?", ok ? "ok" : "BROKEN", a["problem"]?.stringOrEmpty ?? ""])
            }
            print(table.rendered(), terminator: "")
        }
        if !bad.isEmpty {
            let names = bad.compactMap { $0["name"]?.stringValue }.joined(separator: ", ")
            LorctlFailure.reported(name: "AdapterBroken", message: "\(names): stored files missing or changed; `lorctl adapters add NAME PATH --replace` imports them again").exit()
        }
    }
}
