import ArgumentParser
import Foundation
import LoraModel

/// `--adapter DIR[:SCALE]` (repeatable) and `--lora-mode`, shared by every command that loads adapters.
struct AdapterOptions: ParsableArguments {
    @Option(name: .customLong("adapter"), help: ArgumentHelp(
        "A PEFT LoRA adapter directory, optionally with a user scale (default 1). Repeat for several adapters.",
        valueName: "dir[:scale]"))
    var adapters: [String] = []

    @Option(name: .customLong("lora-mode"), help: "auto (merged when it fits the merge budget and the weights are f32), merged or unmerged.")
    var loraMode: LoraModeArgument = .auto

    @Option(name: .customLong("merge-budget-mb"), help: "Extra memory auto mode may spend on merged weights, in MiB.")
    var mergeBudgetMB: Int = 2048

    /// One parsed `--adapter` value.
    struct Spec: Equatable {
        var directory: String
        var scale: Float
    }

    /// Splits `DIR[:SCALE]`: a trailing `:number` is the scale; anything else is part of the path.
    static func parse(_ value: String) throws -> Spec {
        if let colon = value.lastIndex(of: ":") {
            let tail = value[value.index(after: colon)...]
            if let scale = Float(tail) {
                guard scale.isFinite else { throw ValidationError("--adapter \(value): the scale must be a finite number") }
                return Spec(directory: String(value[..<colon]), scale: scale)
            }
        }
        return Spec(directory: value, scale: 1)
    }

    func validate() throws {
        for a in adapters { _ = try Self.parse(a) }
        guard mergeBudgetMB >= 0 else { throw ValidationError("--merge-budget-mb must be 0 or more") }
    }

    /// `--merge-budget-mb` in bytes; a budget past Int.max bytes is unlimited (the plain shift wrapped it
    /// negative, which refused every merge).
    var mergeBudgetBytes: Int { mergeBudgetMB > Int.max >> 20 ? Int.max : mergeBudgetMB << 20 }

    /// Loads every adapter against `model` and builds the set.
    func adapterSet(for model: LlamaModel) throws -> AdapterSet {
        if adapters.isEmpty { return .none }
        let entries = try adapters.map { value -> AdapterSet.Entry in
            let spec = try Self.parse(value)
            do {
                let adapter = try LoraAdapter(directory: URL(fileURLWithPath: spec.directory), model: model.config)
                return AdapterSet.Entry(adapter: adapter, scale: spec.scale)
            } catch {
                throw CLIError("cannot load adapter \(spec.directory): \(error)")
            }
        }
        do {
            return try AdapterSet(entries, model: model, mode: loraMode.mode, mergeBudgetBytes: mergeBudgetBytes)
        } catch {
            throw CLIError("cannot build the adapter set: \(error)")
        }
    }
}

/// `--lora-mode` values.
enum LoraModeArgument: String, ExpressibleByArgument, CaseIterable {
    case auto, merged, unmerged
    var mode: AdapterSet.Mode { AdapterSet.Mode(rawValue: rawValue) ?? .auto }
}
