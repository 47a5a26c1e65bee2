import ArgumentParser
import LoraJSON

/// `lorctl adapters rm NAME`: removes an adapter from the registry (removeAdapter).
struct AdaptersRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove an adapter (refused while it is active).",
        aliases: ["remove"]
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The adapter's name.")
    var name: String

    func run() throws {
        let result = client.connect().callOrExit("removeAdapter", ["name": .string(name)])
        if client.json { return printJSON(result) }
        print("removed \(result["name"]?.stringOrEmpty ?? name)")
    }
}
