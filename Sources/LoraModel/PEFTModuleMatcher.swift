import Foundation

/// Decides, as PEFT does, which modules of a model an adapter config targets and with what rank and alpha.
/// Module names are full names in the base model, e.g. `model.layers.3.self_attn.q_proj`.
struct PEFTModuleMatcher {
    let config: PEFTAdapterConfig

    /// Whether `target_modules` (with `layers_to_transform` and `exclude_modules`) selects `name` of `layer`.
    func targets(_ name: String, layer: Int) -> Bool {
        if let excludes = config.excludes, Self.matches(excludes, name) { return false }
        switch config.targets {
        case .allLinear:
            return layerSelected(name, layer: layer)
        case .regex(let pattern):
            // A regex target must match the whole name; layers_to_transform does not apply to it.
            return Self.fullMatch(pattern, name)
        case .names(let names):
            if names.contains(name) { return true }
            guard names.contains(where: { name.hasSuffix("." + $0) }) else { return false }
            return layerSelected(name, layer: layer)
        }
    }

    /// `layers_to_transform`, with `layers_pattern` naming the module list the index follows.
    private func layerSelected(_ name: String, layer: Int) -> Bool {
        guard let layers = config.layersToTransform else { return true }
        if let patterns = config.layersPattern, !patterns.isEmpty {
            // Our module names hold the index after "layers"; another pattern finds no index, so no match.
            guard patterns.contains(where: { Self.firstMatch("^.*\\.\($0)\\.(\\d+)\\.", name) }) else { return false }
        }
        return layers.contains(layer)
    }

    /// Rank for `name`: the first `rank_pattern` key (in file order) that matches, else `r`.
    func rank(for name: String) -> Int {
        config.rankPattern.first { Self.patternKeyMatches($0.key, name) }?.value ?? config.rank
    }

    /// Alpha for `name`: the first matching `alpha_pattern` key, else `lora_alpha`.
    func alpha(for name: String) -> Double {
        config.alphaPattern.first { Self.patternKeyMatches($0.key, name) }?.value ?? config.alpha
    }

    /// PEFT's `get_pattern_key`: `re.match(rf"(.*\.)?({key})$", name)`.
    static func patternKeyMatches(_ key: String, _ name: String) -> Bool {
        firstMatch("^(.*\\.)?(\(key))$", name)
    }

    static func matches(_ targets: PEFTAdapterConfig.Targets, _ name: String) -> Bool {
        switch targets {
        case .allLinear: return true
        case .regex(let pattern): return fullMatch(pattern, name)
        case .names(let names): return names.contains(name) || names.contains { name.hasSuffix("." + $0) }
        }
    }

    static func fullMatch(_ pattern: String, _ name: String) -> Bool {
        firstMatch("^(?:\(pattern))$", name)
    }

    static func firstMatch(_ pattern: String, _ name: String) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        let range = NSRange(name.startIndex..<name.endIndex, in: name)
        return regex.firstMatch(in: name, options: [], range: range) != nil
    }
}
