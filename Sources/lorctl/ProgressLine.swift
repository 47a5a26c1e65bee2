import Foundation

/// One status line on stderr that redraws itself in place (`\r`, clear to end of line). It draws only when
/// stderr is a terminal, so redirected output never receives control characters or partial lines.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    /// True when the line is drawn (stderr is a terminal).
    let isEnabled: Bool
    private var shown = false

    /// A line that draws when `enabled` (by default: stderr is a terminal).
    init(enabled: Bool = Terminal.stderrIsTerminal) {
        self.isEnabled = enabled
    }

    /// Replaces the line's text.
    func update(_ text: String) {
        guard isEnabled else { return }
        lock.withLock {
            Terminal.writeErr("\r\u{1B}[2K" + text)
            shown = true
        }
    }

    /// Erases the line, if it was drawn, so what is printed next starts at the left margin.
    func clear() {
        guard isEnabled else { return }
        lock.withLock {
            if shown { Terminal.writeErr("\r\u{1B}[2K") }
            shown = false
        }
    }
}
