import ArgumentParser
import LoraJSON

/// What to do when `setLoras` times out waiting for running jobs.
enum OnTimeout: String, ExpressibleByArgument, CaseIterable {
    case abort
    case cancel
}

/// The options `loras set` and `loras clear` share: how long to wait for running jobs, and what then.
struct SetLorasOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How long to wait for the jobs running under the old set to finish, e.g. 30s, 500ms, 2m (default: the daemon's [loras] default_timeout_ms).", valueName: "duration"))
    var timeout: String?

    @Option(name: .customLong("on-timeout"), help: ArgumentHelp("On timeout, abort (nothing changes, exit 1) or cancel the jobs still running and commit.", valueName: "action"))
    var onTimeout: OnTimeout?

    func validate() throws {
        if let timeout, DurationText.milliseconds(timeout) == nil {
            throw ValidationError(DurationText.invalid("--timeout", timeout))
        }
    }

    /// The `setLoras` parameters for `adapters`.
    func params(adapters: JSONValue) -> JSONValue {
        var members: [(String, JSONValue)] = [("adapters", adapters)]
        if let timeout, let ms = DurationText.milliseconds(timeout) { members.append(("timeoutMs", .int(ms))) }
        if let onTimeout { members.append(("onTimeout", .string(onTimeout.rawValue))) }
        return .object(members)
    }
}
