import ArgumentParser
import Foundation
import LoraModel

/// `lorad eval`: one prompt through a model, offline, printing the last-position logits and greedy steps.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run one prompt through a model offline and print its logits and greedy continuation.",
        discussion: """
            Loads the Hugging Face checkpoint in --model, feeds the prompt token ids, and decodes --steps tokens \
            greedily through the KV cache. Prints the logits of the last prompt position and, for each step, the \
            token, the log-probability of the chosen token and the top-1 minus top-2 logit margin.
            With --adapter (repeatable), the PEFT LoRA adapters are applied with their scales.
            Example: lorad eval --model ./stories260K --adapter ./dragon:0.5 --tokens 1,403,407 --steps 8 --json
            """)

    @Option(help: ArgumentHelp("Checkpoint directory (config.json + safetensors).", valueName: "dir"))
    var model: String

    @Option(help: ArgumentHelp("Prompt token ids, comma-separated.", valueName: "ids"))
    var tokens: String

    @Option(help: "Greedy steps to decode after the prompt.")
    var steps: Int = 0

    @OptionGroup var adapterOptions: AdapterOptions

    @Option(help: KVCachePrecision.help)
    var kvCachePrecision = KVCachePrecision.f32

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard steps >= 0 else { throw ValidationError("--steps must be 0 or more") }
        _ = try promptIds()
    }

    func promptIds() throws -> [Int32] {
        let parts = tokens.split(separator: ",", omittingEmptySubsequences: false)
        var ids: [Int32] = []
        for part in parts {
            guard let id = Int32(part.trimmingCharacters(in: .whitespaces)), id >= 0 else {
                throw ValidationError("--tokens must be comma-separated non-negative integers; '\(part)' is not")
            }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw ValidationError("--tokens needs at least one id") }
        return ids
    }

    func run() throws {
        let prompt = try promptIds()
        let loaded: LlamaModel
        do {
            loaded = try LlamaModel(directory: URL(fileURLWithPath: model))
        } catch {
            throw CLIError("cannot load model: \(error)")
        }
        let adapters = try adapterOptions.adapterSet(for: loaded)
        let result: GreedyDecoder.Result
        do {
            var decoder = GreedyDecoder(model: loaded, adapters: adapters.isEmpty ? nil : adapters)
            decoder.kvCachePrecision = kvCachePrecision
            result = try decoder.run(prompt: prompt, steps: steps)
        } catch {
            throw CLIError("evaluation failed: \(error)")
        }
        // A broken checkpoint or adapter scale shows up as NaN or infinite logits: say so plainly (JSON cannot
        // hold them, and sorting NaN would print a wrong top list).
        if let bad = result.promptLogits.firstIndex(where: { !$0.isFinite }) {
            throw CLIError("the model produced a non-finite logit (\(result.promptLogits[bad]) for token \(bad)) at the last prompt position: check the checkpoint's weights and the adapter scales")
        }
        if let step = result.steps.firstIndex(where: { !$0.logprob.isFinite }) {
            throw CLIError("the model produced non-finite logits at greedy step \(step): check the checkpoint's weights and the adapter scales")
        }
        if json {
            struct Output: Encodable {
                struct Adapter: Encodable { var name: String; var scale: Float; var residentBytes: Int }
                var weightFormats: [String]
                var weightBytes: Int
                var adapters: [Adapter]
                var loraMode: String
                var adapterSetExtraBytes: Int
                var prompt: [Int32]
                var logits: [Float]
                var greedy: [GreedyDecoder.Step]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            // The only non-finite value left is the margin of a one-token vocabulary (no second best).
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
            let data = try encoder.encode(Output(
                weightFormats: loaded.weights.linearFormats.map(\.rawValue), weightBytes: loaded.weights.byteCount,
                adapters: adapters.entries.map { .init(name: $0.adapter.name, scale: $0.scale, residentBytes: $0.adapter.residentBytes) },
                loraMode: adapters.resolvedMode.rawValue, adapterSetExtraBytes: adapters.extraBytes, prompt: prompt, logits: result.promptLogits, greedy: result.steps))
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            let top = result.promptLogits.enumerated().sorted { $0.element > $1.element }.prefix(5)
            let formats = loaded.weights.linearFormats.map(\.rawValue).joined(separator: " + ")
            print("model: \(loaded.weights.byteCount) bytes of weights (linear layers in \(formats))")
            for e in adapters.entries {
                print("adapter \(e.adapter.name) scale \(e.scale): \(e.adapter.residentBytes) bytes resident")
            }
            if !adapters.isEmpty { print("adapter set: \(adapters.resolvedMode.rawValue), \(adapters.extraBytes) extra bytes") }
            print("prompt: \(prompt.map(String.init).joined(separator: ","))")
            print("top logits at the last prompt position:")
            for (id, value) in top { print("  \(id)\t\(value)") }
            if !result.steps.isEmpty {
                print("step\ttoken\tlogprob\tmargin")
                for (i, s) in result.steps.enumerated() { print("\(i)\t\(s.token)\t\(s.logprob)\t\(s.margin)") }
            }
        }
    }
}

/// A command failure with a message for the user; printed by ArgumentParser as `Error: ...`, exit 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
