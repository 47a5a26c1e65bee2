import Foundation
import LoraJSON
import LoraRPC

/// One `setLoras` call as lorctl makes it: while the call waits for running jobs to drain, a second connection
/// polls `status` every 200 ms and, on a terminal, a progress line on stderr says how many jobs are left and
/// how long it has waited.
struct SetLorasCall {
    /// The connection options.
    var client: ClientOptions
    /// The `setLoras` parameters.
    var params: JSONValue

    /// Makes the call; returns the result, or exits as documented.
    func run() -> JSONValue {
        let connection = client.connect()
        let progress = ProgressLine()
        let watcher = progress.isEnabled ? DrainWatcher(socketPath: client.socketPath, progress: progress) : nil
        watcher?.start()
        let result: Result<JSONValue, RPCClientError>
        do {
            result = .success(try connection.call("setLoras", params: params))
        } catch {
            result = .failure(error)
        }
        watcher?.stop()
        progress.clear()
        switch result {
        case .success(let value): return value
        case .failure(let error): LorctlFailure.from(error).exit()
        }
    }

    /// The human summary of a `setLoras` result, e.g.
    /// `epoch 4: dragon:0.5 (waited 1.2 s for 3 running jobs to finish)`.
    static func summary(_ result: JSONValue) -> String {
        let drained = result["drainedJobs"]?.intOrZero ?? 0
        let cancelled = result["cancelledJobs"]?.intOrZero ?? 0
        let waited = Format.duration(milliseconds: result["waitedMs"]?.doubleOrZero ?? 0)
        var line = LorasGetCommand.summary(result)
        if drained == 0 && cancelled == 0 {
            line += " (no running jobs to wait for; took \(waited))"
        } else {
            var parts: [String] = []
            if drained > 0 { parts.append("waited \(waited) for \(Format.plural(drained, "running job")) to finish") }
            if cancelled > 0 { parts.append("cancelled \(Format.plural(cancelled, "job")) still running at the timeout") }
            line += " (" + parts.joined(separator: "; ") + ")"
        }
        return line
    }
}
