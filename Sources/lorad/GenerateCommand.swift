import ArgumentParser
import Dispatch
import Foundation
import Logging
import LoraEngine
import LoraModel
import LoraTokenizer
import Synchronization

/// `lorad generate`: offline batch inference through the engine. Every job of the file runs at once with
/// continuous batching; results come out in input order. Also the way to check that batched results equal
/// single-job results (run a file, then each line alone).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Run a file of generation jobs through the batched engine, one JSON job per line.",
        discussion: """
            Each input line is a JSON object: "prompt" (text) or "tokens" (ids), and optionally "maxTokens", \
            "temperature", "topK", "topP", "minP", "repetitionPenalty", "presencePenalty", "frequencyPenalty", \
            "seed", "stop" (a string or a list), "stopTokens", "ignoreEos", "logprobs", and "loras": the job's own \
            adapters, [{"adapter": DIR, "scale": S}] (scale default 1; [] is the base model), instead of the \
            --adapter set; each directory is loaded once and shared by the jobs that name it. Sampling not given \
            comes from the model's generation_config.json (greedy without do_sample); without "seed" a sampled job \
            uses a random seed. Each output line, in input order, is {"tokens", "text", "finishReason", "usage", \
            "epoch", "adapters"} (no "epoch" for a job with "loras"; plus "logprobs" when asked), or {"error"} for \
            a job that was refused.
            Example:
              echo '{"prompt":"Once upon a time","maxTokens":32}' | lorad generate --model ./stories260K --adapter ./dragon:0.5 --jobs -
            """)

    @Option(help: ArgumentHelp("Checkpoint directory (config.json, safetensors, tokenizer.json).", valueName: "dir"))
    var model: String

    @OptionGroup var adapterOptions: AdapterOptions

    @Option(help: ArgumentHelp("A file of JSON jobs, one per line, or - for stdin.", valueName: "file"))
    var jobs: String

    @Option(help: "Jobs decoded together in one forward pass.")
    var maxBatchSize = 16

    @Option(help: "KV cache capacity in token positions, shared by all running jobs.")
    var kvCacheTokens = 16_384

    @Option(help: "Prompt tokens fed per step across all jobs in prefill.")
    var maxChunkTokens = 256

    @Option(help: KVCachePrecision.help)
    var kvCachePrecision = KVCachePrecision.f32

    func validate() throws {
        for (name, value) in [("--max-batch-size", maxBatchSize), ("--kv-cache-tokens", kvCacheTokens), ("--max-chunk-tokens", maxChunkTokens)] where value <= 0 {
            throw ValidationError("\(name) must be a positive integer")
        }
    }

    func run() throws {
        let lines = try readJobLines()
        let requests = lines.map { line in Result { try JobLine.parse(line.text, number: line.number) } }
        let directory = URL(fileURLWithPath: model)
        let loaded: LlamaModel, tokenizer: Tokenizer, defaults: SamplingParameters
        do {
            loaded = try LlamaModel(directory: directory)
            tokenizer = try Tokenizer(directory: directory)
            defaults = try GenerationDefaults.sampling(loaded.config.generation)
        } catch {
            throw CLIError("cannot load model: \(error)")
        }
        let adapters = try adapterOptions.adapterSet(for: loaded)
        let jobAdapters = JobAdapters(model: loaded.config)
        var logger = Logger(label: "lorad.generate", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let engine: Engine
        do {
            engine = try Engine(
                model: loaded, tokenizer: tokenizer,
                configuration: EngineConfiguration(
                    maxBatchSize: maxBatchSize, kvCacheTokens: kvCacheTokens, maxChunkTokens: maxChunkTokens,
                    maxQueuedJobs: max(1, lines.count), loraMode: adapterOptions.loraMode.mode,
                    mergeBudgetBytes: adapterOptions.mergeBudgetBytes, kvCachePrecision: kvCachePrecision),
                adapters: adapters, defaultSampling: defaults, logger: logger)
        } catch {
            throw CLIError("cannot start the engine: \(error)")
        }
        defer { engine.shutdown() }

        let results = Mutex<[Int: JobResult]>([:])
        let group = DispatchGroup()
        for (index, parsed) in requests.enumerated() {
            let request: GenerationRequest
            do {
                request = try parsed.get().request(defaults: defaults, adapters: jobAdapters, number: lines[index].number)
            } catch {
                results.withLock { $0[index] = JobResult(error: "\(error)") }
                continue
            }
            group.enter()
            let sink: JobSink = { event in
                // The engine thread calls this for every token: the result grows in place.
                results.withLock { all in
                    switch event {
                    case .started: break
                    case let .tokens(_, ids, text, logprobs):
                        all[index, default: JobResult()].append(ids: ids, text: text, logprobs: logprobs)
                    case let .finished(_, summary):
                        all[index, default: JobResult()].finish(summary, logprobsRequested: request.logprobs)
                    }
                }
                if case .finished = event { group.leave() }
            }
            do {
                try engine.submit(request, sink: sink)
            } catch {
                results.withLock { $0[index] = JobResult(error: "line \(lines[index].number): \(error)") }
                group.leave()
            }
        }
        group.wait()

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let all = results.withLock { $0 }
        var failures = 0
        for index in lines.indices {
            var r = all[index] ?? JobResult(error: "line \(lines[index].number): no result")
            if r.error != nil { failures += 1 }
            let line: Data
            do {
                line = try encoder.encode(r)
            } catch {
                // Never lose the lines after one that cannot be written.
                failures += 1
                r = JobResult(error: "line \(lines[index].number): the result cannot be written as JSON: \(error)")
                line = (try? encoder.encode(r)) ?? Data("{\"error\":\"unwritable result\"}".utf8)
            }
            FileHandle.standardOutput.write(line + Data("\n".utf8))
        }
        if failures > 0 { throw CLIError("\(failures) of \(lines.count) jobs were refused; see their \"error\" lines") }
    }

    /// The non-blank lines with their 1-based line numbers in the input (errors name the line an editor shows).
    private func readJobLines() throws -> [(number: Int, text: String)] {
        let text: String
        if jobs == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            do { text = try String(contentsOfFile: jobs, encoding: .utf8) } catch {
                throw CLIError("cannot read --jobs \(jobs): \(error.localizedDescription)")
            }
        }
        // "\r\n" is one Character in Swift, unequal to "\n": split on both, or a Windows file is one line.
        return text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated()
            .map { (number: $0.offset + 1, text: String($0.element)) }
            .filter { !$0.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }
}

/// One output line.
struct JobResult: Encodable {
    struct Usage: Encodable { var promptTokens: Int; var completionTokens: Int }
    var tokens: [Int32]?
    var text: String?
    var finishReason: String?
    var usage: Usage?
    var epoch: UInt64?
    var adapters: [AdapterDescription]?
    /// null entries where the model's logits were not finite (JSON has no NaN).
    var logprobs: [Float?]?
    var error: String?

    mutating func append(ids: [Int32], text piece: String, logprobs chosen: [Float]?) {
        if tokens == nil { tokens = [] }
        tokens?.append(contentsOf: ids)
        if text == nil { text = "" }
        text?.append(piece)
        if let chosen {
            if logprobs == nil { logprobs = [] }
            logprobs?.append(contentsOf: chosen.map { $0.isFinite ? $0 : nil })
        }
    }

    mutating func finish(_ summary: JobSummary, logprobsRequested: Bool) {
        if tokens == nil { tokens = [] }
        if text == nil { text = "" }
        finishReason = summary.finishReason.rawValue
        usage = .init(promptTokens: summary.promptTokens, completionTokens: summary.completionTokens)
        epoch = summary.globalEpoch
        adapters = summary.adapters
        if logprobsRequested, logprobs == nil { logprobs = [] }
    }
}

/// One input line.
struct JobLine: Decodable {
    /// A string or a list of strings.
    struct StopList: Decodable {
        var values: [String]
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let one = try? c.decode(String.self) { values = [one] } else { values = try c.decode([String].self) }
        }
    }

    var prompt: String?
    var tokens: [Int32]?
    var maxTokens: Int?
    var temperature: Float?
    var topK: Int?
    var topP: Float?
    var minP: Float?
    var repetitionPenalty: Float?
    var presencePenalty: Float?
    var frequencyPenalty: Float?
    var seed: UInt64?
    var stop: StopList?
    var stopTokens: [Int32]?
    var ignoreEos: Bool?
    var logprobs: Bool?
    var loras: [LoraSpec]?

    /// One entry of "loras": an adapter directory and its user scale.
    struct LoraSpec: Decodable {
        var adapter: String
        var scale: Float?
        static let keys: Set<String> = ["adapter", "scale"]
    }

    static let keys: Set<String> = [
        "prompt", "tokens", "maxTokens", "temperature", "topK", "topP", "minP", "repetitionPenalty", "presencePenalty",
        "frequencyPenalty", "seed", "stop", "stopTokens", "ignoreEos", "logprobs", "loras",
    ]

    /// Parses a line; unknown keys are errors (a typo would otherwise be silently ignored).
    static func parse(_ line: String, number: Int) throws -> JobLine {
        let data = Data(line.utf8)
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIError("line \(number): not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw CLIError("line \(number): unknown key \"\(unknown)\" (known: \(keys.sorted().joined(separator: ", ")))")
        }
        for entry in object["loras"] as? [Any] ?? [] {
            guard let fields = entry as? [String: Any] else {
                throw CLIError("line \(number): each \"loras\" entry is an object {\"adapter\": DIR, \"scale\": S}")
            }
            if let unknown = fields.keys.sorted().first(where: { !LoraSpec.keys.contains($0) }) {
                throw CLIError("line \(number): unknown key \"\(unknown)\" in a \"loras\" entry (known: adapter, scale)")
            }
        }
        let job: JobLine
        do { job = try JSONDecoder().decode(JobLine.self, from: data) } catch {
            throw CLIError("line \(number): \(error)")
        }
        guard (job.prompt == nil) != (job.tokens == nil) else {
            throw CLIError("line \(number): give exactly one of \"prompt\" (text) and \"tokens\" (ids)")
        }
        return job
    }

    /// The engine request; "loras" directories are loaded through `adapters` (once per directory). Throws a
    /// `CLIError` naming line `number` when one cannot be loaded.
    func request(defaults: SamplingParameters, adapters: JobAdapters, number: Int) throws -> GenerationRequest {
        let own = try loras.map { specs in
            try specs.map { spec in
                do {
                    return AdapterSet.Entry(adapter: try adapters.adapter(spec.adapter), scale: spec.scale ?? 1)
                } catch {
                    throw CLIError("line \(number): cannot load adapter \(spec.adapter): \(error)")
                }
            }
        }
        var s = defaults
        if let v = temperature { s.temperature = v }
        if let v = topK { s.topK = v }
        if let v = topP { s.topP = v }
        if let v = minP { s.minP = v }
        if let v = repetitionPenalty { s.repetitionPenalty = v }
        if let v = presencePenalty { s.presencePenalty = v }
        if let v = frequencyPenalty { s.frequencyPenalty = v }
        if let v = seed { s.seed = v }
        return GenerationRequest(
            prompt: tokens.map { .tokens($0) } ?? .text(prompt ?? ""), sampling: s,
            stop: StopConditions(maxNewTokens: maxTokens, stopTokenIds: stopTokens ?? [], stopStrings: stop?.values ?? [], ignoreEos: ignoreEos ?? false),
            logprobs: logprobs ?? false, loras: own)
    }
}
