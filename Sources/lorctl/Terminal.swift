import Foundation

/// What lorctl knows about where its output goes, and the raw writes it uses for streams and progress.
enum Terminal {
    /// True when standard error is a terminal: progress lines are drawn there only then.
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
    /// True when standard output is a terminal.
    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) != 0 }
    /// True when standard input is a terminal (no prompt was piped in).
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) != 0 }

    /// Writes `text` to stdout at once, unbuffered, so streamed text appears as it arrives.
    static func writeOut(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Writes `text` to stderr at once.
    static func writeErr(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
