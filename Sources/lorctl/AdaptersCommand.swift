import ArgumentParser

/// `lorctl adapters`: the registered adapters.
struct AdaptersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapters",
        abstract: "List, show, add, remove and verify registered adapters (default: list).",
        subcommands: [AdaptersListCommand.self, AdaptersShowCommand.self, AdaptersAddCommand.self,
                      AdaptersRemoveCommand.self, AdaptersVerifyCommand.self],
        defaultSubcommand: AdaptersListCommand.self
    )
}
