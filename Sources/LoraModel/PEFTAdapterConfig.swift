import Foundation
import LoraJSON

/// The parts of a PEFT `adapter_config.json` that decide what a LoRA adapter computes, parsed and checked.
/// Keys that change the math in ways lorad does not implement are refused by name; unknown keys are ignored.
public struct PEFTAdapterConfig: Sendable, Equatable {
    /// How `target_modules` selects modules.
    public enum Targets: Sendable, Equatable {
        /// Module-name suffixes (`q_proj` matches `model.layers.0.self_attn.q_proj`) or exact full names.
        case names([String])
        /// A regular expression that must match the whole module name.
        case regex(String)
        /// `all-linear`: every linear projection (all seven in a Llama layer).
        case allLinear
    }

    /// Default rank `r`.
    public var rank: Int
    /// Default `lora_alpha`.
    public var alpha: Double
    /// `use_rslora`: scale by alpha/√r instead of alpha/r.
    public var useRSLoRA: Bool
    /// `target_modules`.
    public var targets: Targets
    /// `exclude_modules`, same forms as targets.
    public var excludes: Targets?
    /// `layers_to_transform`, nil for all layers.
    public var layersToTransform: [Int]?
    /// `layers_pattern`.
    public var layersPattern: [String]?
    /// `rank_pattern` in file order.
    public var rankPattern: [(key: String, value: Int)]
    /// `alpha_pattern` in file order.
    public var alphaPattern: [(key: String, value: Double)]
    /// `fan_in_fan_out`.
    public var fanInFanOut: Bool
    /// `base_model_name_or_path`, informational.
    public var baseModel: String?

    public static func == (a: PEFTAdapterConfig, b: PEFTAdapterConfig) -> Bool {
        a.rank == b.rank && a.alpha == b.alpha && a.useRSLoRA == b.useRSLoRA && a.targets == b.targets
            && a.excludes == b.excludes && a.layersToTransform == b.layersToTransform && a.layersPattern == b.layersPattern
            && a.rankPattern.map(\.key) == b.rankPattern.map(\.key) && a.rankPattern.map(\.value) == b.rankPattern.map(\.value)
            && a.alphaPattern.map(\.key) == b.alphaPattern.map(\.key) && a.alphaPattern.map(\.value) == b.alphaPattern.map(\.value)
            && a.fanInFanOut == b.fanInFanOut && a.baseModel == b.baseModel
    }

    /// Parses `adapter_config.json` contents; `path` is used in errors. Integers (`r`, `rank_pattern` values,
    /// `layers_to_transform`) follow the one rule of `JSONValue.integer`, JSONNumber's exact reading: `1.5`,
    /// `1e400`, `-1` and `"1"` are refused with the key named, never truncated.
    public init(json data: Data, path: String) throws {
        let object: [(String, JSONValue)]
        do {
            guard case .object(let members) = try JSONValue.parseModelFile(data) else {
                throw AdapterLoadError.invalidConfig(path: path, key: nil, reason: "the top level is not a JSON object")
            }
            object = members
        } catch let e as AdapterLoadError {
            throw e
        } catch ModelFileJSONError.repeatedKey(let key) {
            throw AdapterLoadError.invalidConfig(path: path, key: key, reason: "appears twice in one object; keep one")
        } catch {
            throw AdapterLoadError.invalidConfig(path: path, key: nil, reason: "not valid JSON (\(error))")
        }
        let reader = ConfigReader(object: object, path: path)

        let peftType = try reader.string("peft_type") ?? "LORA"
        guard peftType == "LORA" else {
            throw AdapterLoadError.unsupportedFeature(path: path, key: "peft_type", value: "\"\(peftType)\"", reason: "lorad serves LoRA adapters only")
        }
        try reader.refuseTrue("use_dora", reason: "DoRA adapters need a magnitude vector per module; merge the adapter into the model or retrain without DoRA")
        try reader.refuseTrue("lora_bias", reason: "LoRA B biases are not supported")
        try reader.refuseTrue("use_qalora", reason: "QA-LoRA is not supported")
        try reader.refuseTrue("use_bdlora", reason: "block-diagonal LoRA is not supported")
        if let bias = try reader.string("bias"), bias != "none" {
            throw AdapterLoadError.unsupportedFeature(path: path, key: "bias", value: "\"\(bias)\"", reason: "only bias \"none\" is supported (trained biases change the base model)")
        }
        for key in ["modules_to_save", "target_parameters", "layer_replication", "trainable_token_indices", "alora_invocation_tokens"] {
            if reader.isNonEmpty(key) {
                throw AdapterLoadError.unsupportedFeature(
                    path: path, key: key, value: reader.render(key),
                    reason: key == "modules_to_save"
                        ? "the adapter replaces whole modules, which lorad cannot switch; save it without modules_to_save"
                        : "this PEFT feature is not supported")
            }
        }

        guard let r = reader.value("r") else {
            throw AdapterLoadError.badRankOrAlpha(path: path, key: "r", value: "null", reason: "is missing")
        }
        rank = try reader.integer(r, key: "r", minimum: 1, rank: true)
        alpha = try reader.value("lora_alpha").map { try reader.finite($0, key: "lora_alpha") } ?? 8
        useRSLoRA = try reader.bool("use_rslora") ?? false
        fanInFanOut = try reader.bool("fan_in_fan_out") ?? false
        baseModel = try reader.string("base_model_name_or_path")

        guard let t = try reader.targets("target_modules") else {
            throw AdapterLoadError.invalidConfig(path: path, key: "target_modules", reason: "missing; it must list the modules the adapter changes")
        }
        targets = t
        excludes = try reader.targets("exclude_modules")
        layersToTransform = try reader.layerList("layers_to_transform")
        layersPattern = try reader.stringList("layers_pattern")

        // PEFT tries pattern keys in file order and the first match wins; LoraJSON keeps members in that order.
        rankPattern = try reader.map("rank_pattern").map { key, value -> (key: String, value: Int) in
            (key, try reader.integer(value, key: "rank_pattern.\(key)", minimum: 1, rank: true))
        }
        alphaPattern = try reader.map("alpha_pattern").map { key, value -> (key: String, value: Double) in
            (key, try reader.finite(value, key: "alpha_pattern.\(key)"))
        }
        // Validate pattern regexes now, so a bad one is a config error and not a silent non-match.
        for key in rankPattern.map(\.key) + alphaPattern.map(\.key) {
            guard (try? NSRegularExpression(pattern: key)) != nil else {
                throw AdapterLoadError.invalidConfig(path: path, key: key, reason: "pattern key is not a valid regular expression")
            }
        }
        for (key, selection) in [("target_modules", targets), ("exclude_modules", excludes)] {
            if case .regex(let pattern) = selection, (try? NSRegularExpression(pattern: pattern)) == nil {
                throw AdapterLoadError.invalidConfig(path: path, key: key, reason: "'\(pattern)' is not a valid regular expression")
            }
        }
    }
}

/// Typed access to a JSON object with errors that name the key. JSON null counts as absent.
private struct ConfigReader {
    let object: [(String, JSONValue)]
    let path: String

    /// Keys are unique (`parseModelFile` refuses repeats), so the first match is the only one.
    func value(_ key: String) -> JSONValue? {
        guard let v = object.first(where: { $0.0 == key })?.1, !v.isNull else { return nil }
        return v
    }

    func wrongType(_ key: String, _ expected: String) -> AdapterLoadError {
        .invalidConfig(path: path, key: key, reason: "expected \(expected), found \(render(key))")
    }

    func render(_ key: String) -> String { value(key)?.serializedString ?? "null" }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw wrongType(key, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw wrongType(key, "true or false") }
        return b
    }

    /// An integer by `JSONValue.integer`'s rule. A rank's error is `badRankOrAlpha`, any other `invalidConfig`.
    func integer(_ v: JSONValue, key: String, minimum: Int, rank: Bool = false) throws -> Int {
        do {
            return try v.integer(minimum: minimum)
        } catch {
            if rank { throw AdapterLoadError.badRankOrAlpha(path: path, key: key, value: error.found, reason: error.problem) }
            throw AdapterLoadError.invalidConfig(path: path, key: key, reason: "\(error.description); it must be an integer of at least \(minimum)")
        }
    }

    /// A finite alpha.
    func finite(_ v: JSONValue, key: String) throws -> Double {
        do {
            return try v.finiteDouble()
        } catch {
            throw AdapterLoadError.badRankOrAlpha(path: path, key: key, value: error.found, reason: error.problem)
        }
    }

    func refuseTrue(_ key: String, reason: String) throws {
        if try bool(key) == true {
            throw AdapterLoadError.unsupportedFeature(path: path, key: key, value: "true", reason: reason)
        }
    }

    func isNonEmpty(_ key: String) -> Bool {
        switch value(key) {
        case nil: return false
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .string(let s): return !s.isEmpty
        default: return true
        }
    }

    func targets(_ key: String) throws -> PEFTAdapterConfig.Targets? {
        switch value(key) {
        case nil: return nil
        case .string(let s): return s == "all-linear" ? .allLinear : .regex(s)
        case .array(let list):
            let names = try list.map { item -> String in
                guard let s = item.stringValue else { throw wrongType(key, "a list of module names or a regular expression") }
                return s
            }
            return .names(names)
        default: throw wrongType(key, "a list of module names or a regular expression")
        }
    }

    /// `layers_to_transform`: one layer index or a list of them, each a non-negative integer.
    func layerList(_ key: String) throws -> [Int]? {
        switch value(key) {
        case nil: return nil
        case .array(let list):
            if list.isEmpty { return nil }
            return try list.enumerated().map { i, item in try integer(item, key: "\(key)[\(i)]", minimum: 0) }
        case let v?:
            return [try integer(v, key: key, minimum: 0)]
        }
    }

    func stringList(_ key: String) throws -> [String]? {
        switch value(key) {
        case nil: return nil
        case .string(let s): return s.isEmpty ? nil : [s]
        case .array(let list):
            return try list.map { item in
                guard let s = item.stringValue else { throw wrongType(key, "a string or a list of strings") }
                return s
            }
        default: throw wrongType(key, "a string or a list of strings")
        }
    }

    func map(_ key: String) throws -> [(String, JSONValue)] {
        guard let v = value(key) else { return [] }
        guard case .object(let members) = v else { throw wrongType(key, "an object") }
        return members
    }
}
