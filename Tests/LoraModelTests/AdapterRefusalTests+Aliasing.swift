import Foundation
import LoraModel
import Testing

/// Adapter files whose tensors could alias (issue 14, item 3) and config integers that must not be truncated.
extension AdapterRefusalTests {
    /// Renames tensors of the attn-r8 map.
    static func renamed(_ map: inout [String: (shape: [Int], values: [Float])], _ rename: (String) -> String) {
        map = Dictionary(uniqueKeysWithValues: map.map { (rename($0.key), $0.value) })
    }

    func expectAdapterError(_ dir: URL, _ matches: (AdapterLoadError) -> Bool) {
        #expect { try load(dir) } throws: { error in
            guard let e = error as? AdapterLoadError else { return false }
            return matches(e)
        }
    }

    @Test(arguments: ["01", "+1", "-0"])
    func nonCanonicalLayerIsRefused(layer: String) throws {
        // `layers.01.` used to load as layer 1.
        let dir = try variant(tensors: { map in
            Self.renamed(&map) { $0.replacingOccurrences(of: "layers.1.self_attn.q_proj", with: "layers.\(layer).self_attn.q_proj") }
        })
        expectAdapterError(dir) { error in
            guard case .nonCanonicalLayer(_, let tensor, layer) = error else { return false }
            return tensor.contains("layers.\(layer).") && error.description.contains("rename")
        }
    }

    @Test func duplicateModuleTensorIsRefused() throws {
        // The same A with and without the base_model.model. prefix: the later key used to win silently.
        let alias = "model.layers.0.self_attn.q_proj.lora_A.weight"
        let dir = try variant(tensors: { map in
            if let a = map[Self.qA] { map[alias] = (a.shape, a.values.map { $0 + 1 }) }
        })
        expectAdapterError(dir) { error in
            guard case .duplicateTensor(_, "model.layers.0.self_attn.q_proj", "lora_A", let first, let second) = error else { return false }
            return Set([first, second]) == [Self.qA, alias] && error.description.contains("keep one")
        }
    }

    @Test func twoAdapterNamesInOneFileAreRefused() throws {
        // Every tensor twice, once per adapter name: it used to load a mix of the two.
        let dir = try variant(tensors: { map in
            var both: [String: (shape: [Int], values: [Float])] = [:]
            for (name, t) in map {
                both[name.replacingOccurrences(of: ".weight", with: ".first.weight")] = t
                both[name.replacingOccurrences(of: ".weight", with: ".second.weight")] = (t.shape, t.values.map { -$0 })
            }
            map = both
        })
        expectAdapterError(dir) { error in
            guard case .multipleAdapterNames(_, let names) = error else { return false }
            return names == ["'first'", "'second'"] && error.description.contains("selected_adapters")
        }
        // Named on some tensors only counts as two adapters as well.
        let mixed = try variant(tensors: { map in
            Self.renamed(&map) { $0.contains("layers.1.") ? $0.replacingOccurrences(of: ".weight", with: ".default.weight") : $0 }
        })
        expectAdapterError(mixed) { if case .multipleAdapterNames(_, let names) = $0 { names.count == 2 } else { false } }
    }

    @Test func oneAdapterNameInEveryTensorLoadsLikeNone() throws {
        let named = try load(try variant(tensors: { map in
            Self.renamed(&map) { $0.replacingOccurrences(of: ".weight", with: ".default.weight") }
        }))
        let plain = try load(try variant())
        #expect(named.modules.count == 8)
        for (key, module) in plain.modules {
            #expect(named.modules[key]?.a.storage.array == module.a.storage.array)
            #expect(named.modules[key]?.b.storage.array == module.b.storage.array)
        }
    }

    @Test(arguments: ["1.5", "[1.5]", "[1, 1.5]", "[1e-1]", "1e400", "[-1]", "\"1\"", "[\"1\"]", "[9223372036854775808]"])
    func layersToTransformTakesExactIntegersOnly(literal: String) throws {
        // [1.5] used to be truncated to [1].
        let dir = try variant(literals: ["layers_to_transform": literal], tensors: { map in
            for k in map.keys where k.contains("layers.0.") { map[k] = nil }
        })
        expectAdapterError(dir) { error in
            guard case .invalidConfig(_, let key?, let reason) = error else { return false }
            return key.hasPrefix("layers_to_transform") && reason.contains("integer")
        }
    }

    @Test(arguments: ["8.5", "1e400", "8e-1", "9223372036854775808", "true", "-8", "0"])
    func rankTakesExactIntegersOnly(literal: String) throws {
        expectAdapterError(try variant(literals: ["r": literal])) { error in
            guard case .badRankOrAlpha(_, "r", literal, let reason) = error else { return false }
            return !reason.isEmpty
        }
        expectAdapterError(try variant(literals: ["rank_pattern": "{\"q_proj\": \(literal)}"])) {
            if case .badRankOrAlpha(_, "rank_pattern.q_proj", literal, _) = $0 { true } else { false }
        }
    }

    @Test func wholeNumbersInAnyNotationAreIntegers() throws {
        // The safetensors header's rule: JSONNumber's exact reading, so 8.0 and 8e0 are the rank 8, and
        // layers_to_transform [1.0] is layer 1.
        let plain = try load(try variant())
        for literal in ["8.0", "8e0", "0.8e1"] {
            let adapter = try load(try variant(literals: ["r": literal]))
            #expect(adapter.modules.count == plain.modules.count)
            #expect(adapter.modules[LoraModuleKey(layer: 0, module: .qProj)]?.scaling == plain.modules[LoraModuleKey(layer: 0, module: .qProj)]?.scaling)
        }
        let one = try load(try variant(literals: ["layers_to_transform": "[1.0]"], tensors: { map in
            for k in map.keys where k.contains("layers.0.") { map[k] = nil }
        }))
        #expect(!one.modules.isEmpty && one.modules.keys.allSatisfy { $0.layer == 1 })
    }

    @Test func alphaBeyondADoubleIsRefusedByName() throws {
        // 1e400 used to fail the whole file as "not valid JSON", naming no key.
        expectAdapterError(try variant(literals: ["lora_alpha": "1e400"])) {
            if case .badRankOrAlpha(_, "lora_alpha", "1e400", _) = $0 { true } else { false }
        }
        expectAdapterError(try variant(literals: ["alpha_pattern": "{\"o_proj\": -1e999}"])) {
            if case .badRankOrAlpha(_, "alpha_pattern.o_proj", "-1e999", _) = $0 { true } else { false }
        }
        // A fractional alpha is still an alpha.
        let half = try load(try variant(literals: ["lora_alpha": "4.0"]))
        #expect(half.modules[LoraModuleKey(layer: 0, module: .qProj)]?.scaling == 0.5)
    }

    @Test func configKeyGivenTwiceIsRefused() throws {
        // JSONSerialization kept one of the two silently.
        let dir = try variant()
        let url = dir.appendingPathComponent("adapter_config.json")
        let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        try Data(("{\"r\": 4, " + text.dropFirst()).utf8).write(to: url)
        expectAdapterError(dir) { if case .invalidConfig(_, "r", let reason) = $0 { reason.contains("twice") } else { false } }
    }
}
