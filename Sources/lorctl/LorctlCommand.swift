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

            Exit status: 0 success; 1 the daemon returned an error; 2 the daemon cannot be reached; 64 usage error.
            """,
        subcommands: [CallCommand.self]
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
        return Array(rest) + leading
    }
}
