import ArgumentParser

/// The `lorad` executable: the daemon (`serve`, in a later issue) and offline tools for checking models,
/// adapters and tokenizers without a running daemon.
@main
struct LoradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lorad",
        abstract: "Serve a Llama-family model with switchable LoRA adapters on the CPU.",
        subcommands: [EvalCommand.self, TokenizeCommand.self, GenerateCommand.self]
    )
}
