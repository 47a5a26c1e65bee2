import ArgumentParser
import LoraJSON

/// `lorctl adapters show NAME`: one adapter's details.
struct AdaptersShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one adapter's details."
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The adapter's name.")
    var name: String

    func run() throws {
        let result = client.connect().callOrExit("listAdapters")
        guard let adapter = result["adapters"]?.arrayValue?.first(where: { $0["name"]?.stringValue == name }) else {
            LorctlFailure.reported(name: "AdapterNotFound", message: "no adapter named \(name) is registered; `lorctl adapters list` shows the registered ones, `lorctl adapters add` adds one").exit()
        }
        if client.json { return printJSON(adapter) }
        print(Self.render(adapter), terminator: "")
    }

    /// The human form of one adapter as `listAdapters` and `addAdapter` return it.
    static func render(_ a: JSONValue) -> String {
        var out = FieldList()
        out.add("name", a["name"]?.stringOrEmpty ?? "?")
        out.add("state", AdaptersListCommand.state(a) + (a["active"]?.boolValue == true ? ", active" : ", not active"))
        if let broken = a["broken"]?.stringValue { out.add("problem", broken) }
        let rs = a["rsLoRA"]?.boolValue == true ? " (rsLoRA)" : ""
        out.add("rank", "\(a["rank"]?.intOrZero ?? 0), alpha \(Format.scale(a["alpha"]?.doubleOrZero ?? 0))\(rs)")
        out.add("targets", AdaptersListCommand.targets(a))
        if let layers = a["layers"]?.arrayValue {
            out.add("layers", layers.map { $0.numberValue?.text ?? "?" }.joined(separator: ","))
        }
        let size = a["sizeBytes"]?.intOrZero ?? 0
        out.add("size", "\(Format.bytes(size)) (\(size) bytes)")
        out.add("added", a["addedAt"]?.stringOrEmpty ?? "?")
        out.add("digest", a["digest"]?.stringOrEmpty ?? "?")
        return out.rendered()
    }
}
