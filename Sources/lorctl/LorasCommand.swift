import ArgumentParser

/// `lorctl loras`: the adapter set in force.
struct LorasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loras",
        abstract: "Show or change the adapter set in force (default: get).",
        subcommands: [LorasGetCommand.self, LorasSetCommand.self, LorasClearCommand.self],
        defaultSubcommand: LorasGetCommand.self
    )
}
