import ArgumentParser
import Foundation
import LoraJSON

/// `lorctl jobs list`: a table of the queued and running jobs.
struct JobsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the queued and running jobs, oldest first."
    )

    @OptionGroup var client: ClientOptions

    func run() throws {
        let result = client.connect().callOrExit("listJobs")
        if client.json { return printJSON(result) }
        let jobs = result["jobs"]?.arrayValue ?? []
        guard !jobs.isEmpty else { return print("no queued or running jobs") }
        let parser = ISO8601DateFormatter()
        var table = TextTable(header: ["ID", "STATE", "OWNER", "STREAM", "TOKENS", "AGE", "EPOCH"], rightAligned: [0, 4, 5, 6])
        for job in jobs {
            let age = parser.date(from: job["submittedAt"]?.stringOrEmpty ?? "").map { Format.age(seconds: -$0.timeIntervalSinceNow) } ?? "?"
            table.rows.append([
                job["jobId"]?.numberValue?.text ?? "?", job["state"]?.stringOrEmpty ?? "?", Self.user(job["ownerUid"]?.intOrZero ?? -1),
                job["stream"]?.boolValue == true ? "yes" : "no", "\(job["completionTokens"]?.intOrZero ?? 0)", age,
                job["epoch"]?.numberValue?.text ?? "-",
            ])
        }
        print(table.rendered(), terminator: "")
    }

    /// The user name of `uid`, or the number when it has none.
    static func user(_ uid: Int) -> String {
        guard uid >= 0, let entry = getpwuid(uid_t(uid)), let name = entry.pointee.pw_name else { return "\(uid)" }
        return String(cString: name)
    }
}
