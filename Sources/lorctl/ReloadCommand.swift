import ArgumentParser
import Foundation
import LoraJSON
import LoraRPC

/// `lorctl reload`: has lorad re-read its configuration file (as SIGHUP does).
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Re-read lorad's configuration file; show what took effect and what needs a restart.",
        discussion: """
            lorad replies once the new settings are in force, so the output is final. A file that does not parse \
            or validate changes nothing (exit 1, with the reason). --wait is for scripts that run right after \
            starting or restarting lorad: instead of exiting 2 when nothing answers on the socket yet, lorctl \
            retries every 200 ms for up to --timeout, then reloads.
            """
    )

    @OptionGroup var client: ClientOptions

    @Flag(help: "Wait for lorad to answer on its socket first (see --timeout).")
    var wait = false

    @Option(help: ArgumentHelp("How long --wait waits for lorad, e.g. 30s, 2m.", valueName: "duration"))
    var timeout = "30s"

    func validate() throws {
        if DurationText.milliseconds(timeout) == nil { throw ValidationError(DurationText.invalid("--timeout", timeout)) }
    }

    func run() throws {
        let connection = wait ? waitForDaemon() : client.connect()
        let result = connection.callOrExit("reload")
        if client.json { return printJSON(result) }
        let applied = (result["applied"]?.arrayValue ?? []).compactMap(\.stringValue)
        let restart = (result["requiresRestart"]?.arrayValue ?? []).compactMap(\.stringValue)
        print("reloaded the configuration")
        var out = FieldList()
        out.add("applied", applied.isEmpty ? "nothing changed" : applied.joined(separator: ", "))
        if !restart.isEmpty { out.add("needs a restart", restart.joined(separator: ", ") + " (changed, but in force only after restarting lorad)") }
        print(out.rendered(), terminator: "")
    }

    /// A connection once lorad answers `status`, or exit 2 after the timeout.
    private func waitForDaemon() -> RPCClient {
        let deadline = Date().addingTimeInterval(Double(DurationText.milliseconds(timeout) ?? 30_000) / 1000)
        var lastError = "nothing answered"
        while true {
            do {
                let connection = try RPCClient(socketPath: client.socketPath)
                _ = try connection.call("status", timeout: .seconds(5))
                return connection
            } catch {
                lastError = "\(error)"
            }
            if Date() >= deadline { LorctlFailure.unreachable("gave up waiting after \(timeout): \(lastError)").exit() }
            usleep(200_000)
        }
    }
}
