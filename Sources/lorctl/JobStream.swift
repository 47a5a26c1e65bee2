import Foundation
import LoraJSON
import LoraRPC

/// Reads a streaming job's `generate.delta` notifications until its `generate.done`, echoing the text to
/// stdout as it arrives (when asked) and keeping the text and tokens for a `--json` result.
final class JobStream {
    private let connection: RPCClient
    private let jobID: UInt64
    private let echo: Bool
    /// The text received so far.
    private(set) var text = ""
    /// The token ids received so far.
    private(set) var tokens: [JSONValue] = []

    /// A reader of job `jobID`'s events on `connection`; `echo` writes the text to stdout as it comes.
    init(connection: RPCClient, jobID: UInt64, echo: Bool) {
        self.connection = connection
        self.jobID = jobID
        self.echo = echo
    }

    /// Reads until `generate.done` and returns its parameters; exits 2 if the connection breaks first.
    func read() -> JSONValue {
        while true {
            let line: String?
            do {
                line = try connection.readLine()
            } catch {
                LorctlFailure.from(error).exit()
            }
            guard let line else {
                LorctlFailure.unreachable("lorad closed the connection before job \(jobID) finished; check the daemon's log").exit()
            }
            guard let message = try? JSONValue.parse(line), let method = message["method"]?.stringValue,
                  let params = message["params"], params["jobId"]?.numberValue?.uint64 == jobID else { continue }
            if method == "generate.delta" {
                let piece = params["text"]?.stringValue ?? ""
                text += piece
                tokens += params["tokens"]?.arrayValue ?? []
                if echo, !piece.isEmpty { Terminal.writeOut(piece) }
            } else if method == "generate.done" {
                return params
            }
        }
    }

    /// The non-streaming `generate` result this stream amounts to: `jobId`, `text`, `tokens`, then the fields of
    /// `generate.done`.
    func result(done: JSONValue) -> JSONValue {
        var members: [(String, JSONValue)] = [("jobId", .uint64(jobID)), ("text", .string(text)), ("tokens", .array(tokens))]
        members += (done.objectValue ?? []).filter { $0.0 != "jobId" }
        return .object(members)
    }
}
