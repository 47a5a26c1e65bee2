import ArgumentParser

/// `lorctl jobs`: the queued and running jobs.
struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "List or cancel queued and running jobs (default: list).",
        subcommands: [JobsListCommand.self, JobsCancelCommand.self],
        defaultSubcommand: JobsListCommand.self
    )
}
