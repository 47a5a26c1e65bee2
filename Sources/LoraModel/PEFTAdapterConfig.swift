import Foundation

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

    /// Parses `adapter_config.json` contents; `path` is used in errors.
    public init(json data: Data, path: String) throws {
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw AdapterLoadError.invalidConfig(path: path, key: nil, reason: "the top level is not a JSON object")
            }
            object = o
        } catch let e as AdapterLoadError {
            throw e
        } catch {
            throw AdapterLoadError.invalidConfig(path: path, key: nil, reason: "not valid JSON (\(error.localizedDescription))")
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

        guard let r = try reader.int("r"), r > 0 else {
            throw AdapterLoadError.badRankOrAlpha(path: path, key: "r", value: reader.render("r"))
        }
        rank = r
        let a = try reader.double("lora_alpha") ?? 8
        guard a.isFinite else { throw AdapterLoadError.badRankOrAlpha(path: path, key: "lora_alpha", value: "\(a)") }
        alpha = a
        useRSLoRA = try reader.bool("use_rslora") ?? false
        fanInFanOut = try reader.bool("fan_in_fan_out") ?? false
        baseModel = try reader.string("base_model_name_or_path")

        guard let t = try reader.targets("target_modules") else {
            throw AdapterLoadError.invalidConfig(path: path, key: "target_modules", reason: "missing; it must list the modules the adapter changes")
        }
        targets = t
        excludes = try reader.targets("exclude_modules")
        layersToTransform = try reader.intList("layers_to_transform")
        layersPattern = try reader.stringList("layers_pattern")

        let order = PatternKeyOrder(data: data)
        rankPattern = try reader.map("rank_pattern").map { key, value -> (key: String, value: Int) in
            guard !ConfigReader.isBool(value), let n = value as? NSNumber, n.doubleValue == n.doubleValue.rounded(), n.intValue > 0 else {
                throw AdapterLoadError.badRankOrAlpha(path: path, key: "rank_pattern.\(key)", value: "\(value)")
            }
            return (key, n.intValue)
        }.sorted { order.position(of: $0.key, in: "rank_pattern") < order.position(of: $1.key, in: "rank_pattern") }
        alphaPattern = try reader.map("alpha_pattern").map { key, value -> (key: String, value: Double) in
            guard !ConfigReader.isBool(value), let n = value as? NSNumber, n.doubleValue.isFinite else {
                throw AdapterLoadError.badRankOrAlpha(path: path, key: "alpha_pattern.\(key)", value: "\(value)")
            }
            return (key, n.doubleValue)
        }.sorted { order.position(of: $0.key, in: "alpha_pattern") < order.position(of: $1.key, in: "alpha_pattern") }
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
    let object: [String: Any]
    let path: String

    func value(_ key: String) -> Any? {
        guard let v = object[key], !(v is NSNull) else { return nil }
        return v
    }

    func wrongType(_ key: String, _ expected: String) -> AdapterLoadError {
        .invalidConfig(path: path, key: key, reason: "expected \(expected), found \(render(key))")
    }

    func render(_ key: String) -> String {
        guard let v = value(key) else { return "null" }
        if let data = try? JSONSerialization.data(withJSONObject: v, options: [.fragmentsAllowed, .sortedKeys]),
           let s = String(data: data, encoding: .utf8) { return s }
        return "\(v)"
    }

    static func isBool(_ v: Any) -> Bool {
        guard let n = v as? NSNumber else { return false }
        return String(cString: n.objCType) == "c"
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw wrongType(key, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard Self.isBool(v), let n = v as? NSNumber else { throw wrongType(key, "true or false") }
        return n.boolValue
    }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard !Self.isBool(v), let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 else {
            throw AdapterLoadError.badRankOrAlpha(path: path, key: key, value: render(key))
        }
        return n.intValue
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard !Self.isBool(v), let n = v as? NSNumber else { throw AdapterLoadError.badRankOrAlpha(path: path, key: key, value: render(key)) }
        return n.doubleValue
    }

    func refuseTrue(_ key: String, reason: String) throws {
        if try bool(key) == true {
            throw AdapterLoadError.unsupportedFeature(path: path, key: key, value: "true", reason: reason)
        }
    }

    func isNonEmpty(_ key: String) -> Bool {
        guard let v = value(key) else { return false }
        if let a = v as? [Any] { return !a.isEmpty }
        if let d = v as? [String: Any] { return !d.isEmpty }
        if let s = v as? String { return !s.isEmpty }
        return true
    }

    func targets(_ key: String) throws -> PEFTAdapterConfig.Targets? {
        guard let v = value(key) else { return nil }
        if let s = v as? String { return s == "all-linear" ? .allLinear : .regex(s) }
        if let list = v as? [Any] {
            let names = try list.map { item -> String in
                guard let s = item as? String else { throw wrongType(key, "a list of module names or a regular expression") }
                return s
            }
            return .names(names)
        }
        throw wrongType(key, "a list of module names or a regular expression")
    }

    func intList(_ key: String) throws -> [Int]? {
        guard let v = value(key) else { return nil }
        if !Self.isBool(v), let n = v as? NSNumber { return [n.intValue] }
        guard let list = v as? [Any] else { throw wrongType(key, "an integer or a list of integers") }
        if list.isEmpty { return nil }
        return try list.map { item in
            guard !Self.isBool(item), let n = item as? NSNumber else { throw wrongType(key, "an integer or a list of integers") }
            return n.intValue
        }
    }

    func stringList(_ key: String) throws -> [String]? {
        guard let v = value(key) else { return nil }
        if let s = v as? String { return s.isEmpty ? nil : [s] }
        guard let list = v as? [Any] else { throw wrongType(key, "a string or a list of strings") }
        return try list.map { item in
            guard let s = item as? String else { throw wrongType(key, "a string or a list of strings") }
            return s
        }
    }

    func map(_ key: String) throws -> [(String, Any)] {
        guard let v = value(key) else { return [] }
        guard let d = v as? [String: Any] else { throw wrongType(key, "an object") }
        return d.map { ($0.key, $0.value) }
    }
}

/// PEFT tries `rank_pattern` / `alpha_pattern` keys in file order and the first match wins, but a parsed JSON
/// object has no order; this recovers each key's position from the raw text.
private struct PatternKeyOrder {
    let text: String

    init(data: Data) { text = String(decoding: data, as: UTF8.self) }

    func position(of key: String, in section: String) -> Int {
        guard let sectionRange = text.range(of: "\"\(section)\"") else { return Int.max }
        let encoded = (try? JSONSerialization.data(withJSONObject: [key], options: [.withoutEscapingSlashes]))
            .flatMap { String(data: $0, encoding: .utf8) }.map { String($0.dropFirst().dropLast()) } ?? "\"\(key)\""
        guard let r = text.range(of: encoded, range: sectionRange.upperBound..<text.endIndex) else { return Int.max }
        return text.distance(from: text.startIndex, to: r.lowerBound)
    }
}
