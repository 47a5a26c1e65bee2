import ArgumentParser
import Foundation
import LoraJSON

/// `lorctl status`: the daemon, its model, the engine's load, the adapter set in force and the registry.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the daemon's state: model, engine load, active adapters, registry."
    )

    @OptionGroup var client: ClientOptions

    func run() throws {
        let status = client.connect().callOrExit("status")
        if client.json { return printJSON(status) }
        print(Self.render(status), terminator: "")
    }

    /// The human form of a `status` result.
    static func render(_ s: JSONValue) -> String {
        var out = FieldList()
        let pid = s["pid"].map { "pid \($0.intOrZero), " } ?? ""
        out.add("lorad", "\(s["version"]?.stringOrEmpty ?? "?"), \(s["state"]?.stringOrEmpty ?? "?") (\(pid)up \(Format.duration(seconds: s["uptimeSeconds"]?.doubleOrZero ?? 0)))")
        if let m = s["model"] {
            let name = URL(fileURLWithPath: m["path"]?.stringOrEmpty ?? "").lastPathComponent
            let demo = m["demo"]?.boolValue == true ? " (embedded demo)" : ""
            out.add("model", "\(name)\(demo): \(m["architecture"]?.stringOrEmpty ?? "?"), \(Format.count(m["parameters"]?.intOrZero ?? 0)) parameters, \(m["dtype"]?.stringOrEmpty ?? "?")")
            out.add("", "\(m["layers"]?.intOrZero ?? 0) layers, hidden size \(m["hiddenSize"]?.intOrZero ?? 0), vocabulary \(m["vocabSize"]?.intOrZero ?? 0), context \(m["contextLength"]?.intOrZero ?? 0) tokens")
            out.add("", m["path"]?.stringOrEmpty ?? "")
        }
        if let e = s["engine"] {
            out.add("jobs", "\(e["runningJobs"]?.intOrZero ?? 0) running (batch of at most \(e["maxBatchSize"]?.intOrZero ?? 0)), \(e["queuedJobs"]?.intOrZero ?? 0) queued (at most \(e["maxQueuedJobs"]?.intOrZero ?? 0))")
            let pending = e["pendingSetLoras"]?.intOrZero ?? 0
            if pending > 0 { out.add("", "\(Format.plural(pending, "setLoras call")) waiting for running jobs to finish") }
            out.add("generated", "\(Format.count(e["generatedTokens"]?.intOrZero ?? 0)) tokens in \(Format.count(e["steps"]?.intOrZero ?? 0)) steps")
            if let kv = e["kvCache"] {
                let used = kv["usedTokens"]?.intOrZero ?? 0, total = kv["totalTokens"]?.intOrZero ?? 0
                let percent = total > 0 ? String(format: " (%.0f%%)", 100 * Double(used) / Double(total)) : ""
                out.add("kv cache", "\(used) of \(total) tokens in use\(percent), \(kv["precision"]?.stringOrEmpty ?? "?"), pages of \(kv["pageSize"]?.intOrZero ?? 0)")
            }
            out.add("lora mode", e["loraMode"]?.stringOrEmpty ?? "?")
        }
        if let l = s["loras"] {
            out.add("adapters", LorasGetCommand.summary(l))
            if let problem = l["restoreProblem"]?.stringValue { out.add("", "not restored at start: \(problem)") }
        }
        if let r = s["registry"] {
            var counts = Format.plural(r["adapters"]?.intOrZero ?? 0, "adapter") + " registered"
            let broken = r["broken"]?.intOrZero ?? 0, incompatible = r["incompatible"]?.intOrZero ?? 0
            if broken > 0 || incompatible > 0 { counts += " (\(broken) broken, \(incompatible) incompatible)" }
            out.add("registry", "\(counts) in \(r["stateDirectory"]?.stringOrEmpty ?? "?")")
        }
        return out.rendered()
    }
}
