import ArgumentParser
import LoraJSON

/// `lorctl loras get`: the adapter set in force and its epoch.
struct LorasGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Show the adapter set in force and its epoch."
    )

    @OptionGroup var client: ClientOptions

    func run() throws {
        let loras = client.connect().callOrExit("getLoras")
        if client.json { return printJSON(loras) }
        print(Self.summary(loras))
    }

    /// `epoch 3: dragon:0.5, snow:1`, or `epoch 0: base model, no adapters`.
    static func summary(_ loras: JSONValue) -> String {
        let epoch = loras["epoch"]?.intOrZero ?? 0
        let adapters = loras["adapters"]?.arrayValue ?? []
        guard !adapters.isEmpty else { return "epoch \(epoch): base model, no adapters" }
        return "epoch \(epoch): " + adapters.map { "\($0["name"]?.stringOrEmpty ?? "?"):\(Format.scale($0["scale"]?.doubleOrZero ?? 1))" }.joined(separator: ", ")
    }
}
