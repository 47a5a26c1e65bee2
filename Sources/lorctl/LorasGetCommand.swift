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
        // A job that named its own adapters has no epoch of the global set.
        let label = loras["epoch"].map { "epoch \($0.intOrZero)" } ?? "own adapters"
        let adapters = loras["adapters"]?.arrayValue ?? []
        guard !adapters.isEmpty else { return "\(label): base model, no adapters" }
        return "\(label): " + adapters.map { "\($0["name"]?.stringOrEmpty ?? "?"):\(Format.scale($0["scale"]?.doubleOrZero ?? 1))" }.joined(separator: ", ")
    }
}
