import ArgumentParser
import Foundation
import LoraJSON
import LoraRPC

/// `lorctl generate [PROMPT]`: streams a completion to stdout as lorad decodes it.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt, streaming it to stdout as it is decoded.",
        discussion: """
            The prompt is PROMPT, or standard input when PROMPT is absent or '-' (one trailing newline is \
            dropped). Standard output receives exactly the generated text; when it is a terminal a final newline \
            is added, and a summary (tokens, finish reason, speed, adapters) goes to stderr. Ctrl-C cancels the \
            job and exits 130; a second Ctrl-C exits at once. With --json, prints one JSON object when the job \
            ends: the fields of a non-streaming generate result (jobId, text, tokens, finishReason, usage, loras, \
            timing).
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The prompt (default: read standard input).")
    var prompt: String?

    @Option(name: .customLong("max-tokens"), help: ArgumentHelp("Generate at most this many tokens.", valueName: "n"))
    var maxTokens: Int?

    @Option(help: ArgumentHelp("Sampling temperature; 0 is greedy (default: the model's generation config).", valueName: "t"))
    var temperature: Double?

    @Option(name: .customLong("top-p"), help: ArgumentHelp("Nucleus sampling: keep the most likely tokens up to this probability mass.", valueName: "p"))
    var topP: Double?

    @Option(name: .customLong("top-k"), help: ArgumentHelp("Keep only the k most likely tokens (0 keeps all).", valueName: "k"))
    var topK: Int?

    @Option(help: ArgumentHelp("Random seed: the same seed, prompt and adapters give the same text.", valueName: "n"))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Stop before this string (repeatable, up to 16).", valueName: "string"))
    var stop: [String] = []

    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past the end-of-sequence token, up to --max-tokens.")
    var ignoreEOS = false

    @Option(name: .customLong("adapter"), help: ArgumentHelp(
        "Run this job with its own adapter NAME (scale 1) or NAME:SCALE instead of the set in force (repeatable).",
        valueName: "name[:scale]"))
    var adapters: [String] = []

    @Flag(name: .customLong("no-adapters"), help: "Run this job on the base model, whatever set is in force.")
    var noAdapters = false

    func validate() throws {
        for adapter in adapters where LorasSetCommand.entry(adapter) == nil {
            throw ValidationError("'\(adapter)' is not NAME or NAME:SCALE with a finite number as SCALE, e.g. dragon:0.5")
        }
        if noAdapters && !adapters.isEmpty { throw ValidationError("--no-adapters and --adapter contradict each other; give one") }
        if prompt == nil || prompt == "-", Terminal.stdinIsTerminal {
            throw ValidationError("give a PROMPT, or pipe one on standard input (echo 'Once upon a time' | lorctl generate)")
        }
    }

    func run() throws {
        let text = prompt == nil || prompt == "-" ? Self.readStandardInput() : prompt ?? ""
        var params: [(String, JSONValue)] = [("prompt", .string(text)), ("stream", true)]
        if let maxTokens { params.append(("maxTokens", .int(maxTokens))) }
        if let temperature { params.append(("temperature", .double(temperature))) }
        if let topP { params.append(("topP", .double(topP))) }
        if let topK { params.append(("topK", .int(topK))) }
        if let seed { params.append(("seed", .uint64(seed))) }
        if !stop.isEmpty { params.append(("stop", .array(stop.map { .string($0) }))) }
        if ignoreEOS { params.append(("ignoreEos", true)) }
        if noAdapters { params.append(("loras", [])) }
        if !adapters.isEmpty {
            let entries = adapters.compactMap(LorasSetCommand.entry)
            params.append(("loras", .array(entries.map { ["name": .string($0.name), "scale": .double($0.scale)] })))
        }

        let connection = client.connect()
        let interrupt = InterruptCanceller(socketPath: client.socketPath)
        interrupt.install()
        let started = connection.callOrExit("generate", .object(params))
        guard let jobID = started["jobId"]?.numberValue?.uint64 else {
            LorctlFailure.unreachable("lorad answered generate without a jobId (\(started.serializedString)); is this a lorad socket?").exit()
        }
        interrupt.jobStarted(jobID)
        let stream = JobStream(connection: connection, jobID: jobID, echo: !client.json)
        let done = stream.read()
        let interrupted = interrupt.wasInterrupted
        if client.json {
            printJSON(stream.result(done: done))
        } else {
            if Terminal.stdoutIsTerminal, !stream.text.hasSuffix("\n") { Terminal.writeOut("\n") }
            if Terminal.stderrIsTerminal { Terminal.writeErr(Self.summary(done) + "\n") }
        }
        if interrupted { Foundation.exit(130) }
        if done["finishReason"]?.stringValue == "cancelled" {
            LorctlFailure.reported(name: "JobCancelled", message: "job \(jobID) was cancelled by another client or an admin (or lorad is stopping)").exit()
        }
    }

    /// Standard input, less one trailing newline.
    static func readStandardInput() -> String {
        var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// `48 tokens, finished: length, 5833 tokens/s, epoch 3: dragon:1`.
    static func summary(_ done: JSONValue) -> String {
        let tokens = done["usage"]?["completionTokens"]?.intOrZero ?? 0
        var parts = ["\(Format.plural(tokens, "token"))", "finished: \(done["finishReason"]?.stringOrEmpty ?? "?")"]
        if let speed = done["timing"]?["tokensPerSecond"]?.numberValue?.double { parts.append(String(format: "%.0f tokens/s", speed)) }
        if let loras = done["loras"] { parts.append(LorasGetCommand.summary(loras)) }
        return "[" + parts.joined(separator: ", ") + "]"
    }
}
