import ArgumentParser

/// `lorctl`: drives a running lorad over its Unix socket, as any other client would.
@main
struct LorctlCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lorctl",
        abstract: "Control a running lorad over its Unix socket.",
        discussion: """
            The socket is --socket, else $LORAD_SOCKET, else /run/lorad/lorad.sock when it exists, else \
            $XDG_RUNTIME_DIR/lorad/lorad.sock, else /tmp/lorad-UID/lorad.sock (where lorad listens by default).

            Output is for people by default (aligned tables, readable sizes and durations); --json prints the \
            daemon's raw result as one line of JSON, for scripts. Progress lines (loras set, adapters add) are \
            drawn on stderr only when it is a terminal.

            Exit status: 0 success; 1 the daemon returned an error (its name and message are printed); 2 the daemon \
            cannot be reached (or the connection broke); 64 usage error; 130 generate interrupted by Ctrl-C.
            """,
        subcommands: [StatusCommand.self, AdaptersCommand.self, LorasCommand.self, GenerateCommand.self,
                      JobsCommand.self, ReloadCommand.self, CallCommand.self, CompletionsCommand.self]
    )

    /// Lets the global options come before the command (`lorctl --socket S status`): they are moved after it,
    /// where the command's own option group reads them.
    static func main() {
        main(hoistingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
    }

    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var rest = arguments[...]
        while let first = rest.first, first.hasPrefix("--"), first != "--help", first != "--version" {
            leading.append(first)
            rest = rest.dropFirst()
            if first == "--socket", let value = rest.first {
                leading.append(value)
                rest = rest.dropFirst()
            }
        }
        guard !leading.isEmpty, !rest.isEmpty else { return arguments }
        // Options go before a `--` terminator, or they would be read as positional arguments.
        if let terminator = rest.firstIndex(of: "--") {
            return Array(rest[..<terminator]) + leading + Array(rest[terminator...])
        }
        return Array(rest) + leading
    }
}
