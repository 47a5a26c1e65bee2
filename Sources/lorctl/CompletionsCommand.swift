import ArgumentParser

/// `lorctl completions SHELL`: prints a completion script for the shell.
struct CompletionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: "Print a shell completion script.",
        discussion: """
            bash: lorctl completions bash > /etc/bash_completion.d/lorctl (or source <(lorctl completions bash)). \
            zsh: lorctl completions zsh > "${fpath[1]}/_lorctl". \
            fish: lorctl completions fish > ~/.config/fish/completions/lorctl.fish.
            """
    )

    /// The shells argument-parser writes scripts for.
    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish
    }

    @Argument(help: "The shell: bash, zsh or fish.")
    var shell: Shell

    func run() throws {
        let target: CompletionShell = switch shell {
        case .bash: .bash
        case .zsh: .zsh
        case .fish: .fish
        }
        print(LorctlCommand.completionScript(for: target), terminator: "")
    }
}
