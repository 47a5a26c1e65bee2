import Foundation
import LoraModel
import LoraModelTestSupport
import LoraNumerics
import Testing

/// Adapters lorad must refuse, each with its own error, and PEFT config semantics it must honour.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct AdapterRefusalTests {
    let model: LlamaModel
    let source = Fixtures.adapter("tiny-llama", "attn-r8")

    init() throws { model = try LlamaModel(directory: Fixtures.model("tiny-llama")) }

    /// A copy of attn-r8 with its config edited and its tensors optionally replaced. `literals` sets config keys
    /// to JSON text written as is (`1e400`, `1.0`), which JSONSerialization could not write.
    func variant(config edit: (inout [String: Any]) -> Void = { _ in }, literals: [String: String] = [:], tensors: ((inout [String: (shape: [Int], values: [Float])]) -> Void)? = nil) throws -> URL {
        let dir = try TestScratch.directory("adapter")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        edit(&config)
        for key in literals.keys { config[key] = "@literal:\(key)@" }
        var text = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        for (key, literal) in literals { text = text.replacingOccurrences(of: "\"@literal:\(key)@\"", with: literal) }
        try Data(text.utf8).write(to: dir.appendingPathComponent("adapter_config.json"))
        let weights = dir.appendingPathComponent("adapter_model.safetensors")
        if let tensors {
            let file = try SafetensorsFile(path: source.appendingPathComponent("adapter_model.safetensors").path)
            var map: [String: (shape: [Int], values: [Float])] = [:]
            for name in file.names { map[name] = (file.tensors[name]!.shape, try file.floats(name).array) }
            tensors(&map)
            let entries = map.sorted { $0.key < $1.key }.map { SafetensorsWriter.Entry(name: $0.key, shape: $0.value.shape, values: $0.value.values) }
            try SafetensorsWriter.file(entries).write(to: weights)
        } else {
            try FileManager.default.copyItem(at: source.appendingPathComponent("adapter_model.safetensors"), to: weights)
        }
        return dir
    }

    func load(_ dir: URL, model: LlamaModel? = nil) throws -> LoraAdapter {
        try LoraAdapter(directory: dir, model: (model ?? self.model).config)
    }

    static let qA = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    static let qB = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"

    @Test func doraIsRefused() throws {
        let dir = try variant { $0["use_dora"] = true }
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .unsupportedFeature(_, "use_dora", _, _) = $0 { true } else { false } } ?? false }
    }

    @Test func modulesToSaveIsRefused() throws {
        let dir = try variant { $0["modules_to_save"] = ["lm_head"] }
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .unsupportedFeature(_, "modules_to_save", _, _) = $0 { true } else { false } } ?? false }
        // An empty list is the same as none.
        _ = try load(try variant { $0["modules_to_save"] = [String]() })
    }

    @Test func otherBiasAndPeftTypeAreRefused() throws {
        #expect { try load(try variant { $0["bias"] = "all" }) } throws: { ($0 as? AdapterLoadError).map { if case .unsupportedFeature(_, "bias", _, _) = $0 { true } else { false } } ?? false }
        #expect { try load(try variant { $0["peft_type"] = "IA3" }) } throws: { ($0 as? AdapterLoadError).map { if case .unsupportedFeature(_, "peft_type", _, _) = $0 { true } else { false } } ?? false }
    }

    @Test func pickleOnlyAdapterIsNeverUnpickled() throws {
        let dir = try variant()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("adapter_model.safetensors"))
        try Data("not really a pickle".utf8).write(to: dir.appendingPathComponent("adapter_model.bin"))
        #expect(throws: AdapterLoadError.pickleOnly(directory: dir.path)) { try load(dir) }
        #expect(AdapterLoadError.pickleOnly(directory: "x").description.contains("safetensors"))
    }

    @Test func adapterForAnotherModelIsExplained() throws {
        let stories = try LlamaModel(directory: Fixtures.model("stories260K"))
        // tiny-llama's MLP is 176 wide, stories260K's 172.
        for name in ["mlp-r4", "all-rs16"] {
            #expect { try LoraAdapter(directory: Fixtures.adapter("tiny-llama", name), model: stories.config) } throws: { error in
                guard case AdapterLoadError.shapeMismatch(_, let tensor, let expected, let actual) = error else { return false }
                return tensor.contains("proj") && expected != actual
            }
        }
        // And a stories260K adapter against tiny-llama3-rope (1 KV head): k_proj B is 16 × 8 there, not 32 × 8.
        let rope = try LlamaModel(directory: Fixtures.model("tiny-llama3-rope"))
        #expect { try LoraAdapter(directory: Fixtures.adapter("stories260K", "dragon"), model: rope.config) } throws: { error in
            if case AdapterLoadError.shapeMismatch = error { return true }
            if case AdapterLoadError.moduleNotInModel = error { return true }
            return false
        }
    }

    @Test func missingBIsRefused() throws {
        let dir = try variant(tensors: { $0[Self.qB] = nil })
        #expect(throws: AdapterLoadError.missingPair(path: dir.appendingPathComponent("adapter_model.safetensors").path, module: "model.layers.0.self_attn.q_proj", missing: "lora_B")) {
            try load(dir)
        }
    }

    @Test func nanIsRefused() throws {
        let dir = try variant(tensors: { $0[Self.qA]!.values[5] = .nan })
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .nonFinite(_, Self.qA) = $0 { true } else { false } } ?? false }
    }

    @Test func unknownTensorNameIsRefused() throws {
        let dir = try variant(tensors: { $0["base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight"] = ([2], [1, 2]) })
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .unknownTensor = $0 { true } else { false } } ?? false }
        let other = try variant(tensors: { $0["base_model.model.lm_head.weight"] = ([2], [1, 2]) })
        #expect { try load(other) } throws: { ($0 as? AdapterLoadError).map { if case .unknownTensor = $0 { true } else { false } } ?? false }
    }

    @Test(arguments: ["0", "-8", "\"8\"", "2.5"])
    func badRankIsRefused(rank: String) throws {
        let value = try JSONSerialization.jsonObject(with: Data(rank.utf8), options: .fragmentsAllowed)
        let dir = try variant { $0["r"] = value }
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .badRankOrAlpha(_, "r", _, _) = $0 { true } else { false } } ?? false }
    }

    @Test func rankThatDisagreesWithTensorsIsRefused() throws {
        let dir = try variant { $0["r"] = 4 }
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .shapeMismatch = $0 { true } else { false } } ?? false }
    }

    @Test func targetModulesMatchingNothingIsRefused() throws {
        let dir = try variant { $0["target_modules"] = ["c_attn", "c_proj"] }
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .targetsNothing = $0 { true } else { false } } ?? false }
    }

    @Test func tensorsOutsideTargetsOrLayersAreRefused() throws {
        // Config targets only q_proj, but the file holds k/v/o too.
        let dir = try variant { $0["target_modules"] = ["q_proj"] }
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .moduleNotInModel = $0 { true } else { false } } ?? false }
        let layer9 = try variant(tensors: { $0["base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight"] = ([8, 64], [Float](repeating: 0, count: 512)) })
        #expect { try load(layer9) } throws: { ($0 as? AdapterLoadError).map { if case .moduleNotInModel = $0 { true } else { false } } ?? false }
    }

    @Test func layersToTransformAndRegexTargetsSelectModulesAsPeftDoes() throws {
        // Only layer 1 targeted: layer-0 tensors removed, layer-1 ones kept.
        let dir = try variant(config: { $0["layers_to_transform"] = [1] }, tensors: { map in
            for k in map.keys where k.contains("layers.0.") { map[k] = nil }
        })
        let adapter = try load(dir)
        #expect(Set(adapter.modules.keys.map(\.layer)) == [1] && adapter.modules.count == 4)
        // A regex must match the whole module name.
        let regex = try variant(config: { $0["target_modules"] = #".*\.self_attn\.(q|k|v|o)_proj"# })
        #expect(try load(regex).modules.count == 8)
        let partial = try variant(config: { $0["target_modules"] = "q_proj" })
        #expect { try load(partial) } throws: { ($0 as? AdapterLoadError).map { if case .targetsNothing = $0 { true } else { false } } ?? false }
    }

    @Test func rankAndAlphaPatternsSetPerModuleScale() throws {
        // q_proj of layer 1 gets alpha 4 (so scale 4/8) and every o_proj rank 8, alpha 32 (scale 4).
        let dir = try variant { config in
            config["alpha_pattern"] = ["layers.1.self_attn.q_proj": 4, "o_proj": 32]
            config["rank_pattern"] = ["o_proj": 8]
        }
        let adapter = try load(dir)
        #expect(adapter.modules[LoraModuleKey(layer: 1, module: .qProj)]?.scaling == 0.5)
        #expect(adapter.modules[LoraModuleKey(layer: 0, module: .qProj)]?.scaling == 2)
        #expect(adapter.modules[LoraModuleKey(layer: 0, module: .oProj)]?.scaling == 4)
        // A pattern key matches a whole dotted suffix: "proj" alone is not "q_proj".
        let loose = try variant { $0["alpha_pattern"] = ["proj": 1] }
        #expect(try load(loose).modules[LoraModuleKey(layer: 0, module: .qProj)]?.scaling == 2)
        // rank_pattern: q_proj tensors cut to rank 4 load only with {"q_proj": 4}, and scale alpha/4.
        let cut: (inout [String: (shape: [Int], values: [Float])]) -> Void = { map in
            for (name, t) in map where name.contains("q_proj") {
                if name.contains("lora_A") { map[name] = ([4, t.shape[1]], Array(t.values.prefix(4 * t.shape[1]))) }
                else { map[name] = ([t.shape[0], 4], (0..<t.shape[0]).flatMap { row in t.values[(row * 8)..<(row * 8 + 4)] }) }
            }
        }
        let ranked = try load(try variant(config: { $0["rank_pattern"] = ["q_proj": 4] }, tensors: cut))
        #expect(ranked.modules[LoraModuleKey(layer: 0, module: .qProj)]?.rank == 4)
        #expect(ranked.modules[LoraModuleKey(layer: 0, module: .qProj)]?.scaling == 4)
        #expect(ranked.modules[LoraModuleKey(layer: 0, module: .kProj)]?.rank == 8)
        #expect { try load(try variant(tensors: cut)) } throws: { ($0 as? AdapterLoadError).map { if case .shapeMismatch = $0 { true } else { false } } ?? false }
        // rsLoRA: alpha / √r.
        let rs = try variant { $0["use_rslora"] = true }
        #expect(abs((try load(rs).modules[LoraModuleKey(layer: 0, module: .kProj)]?.scaling ?? 0) - 16 / Float(8).squareRoot()) < 1e-6)
    }

    @Test func fanInFanOutAcceptsTransposedTensors() throws {
        let transposed = try variant(config: { $0["fan_in_fan_out"] = true }, tensors: { map in
            for (name, t) in map where t.shape.count == 2 {
                let (r, c) = (t.shape[0], t.shape[1])
                var out = [Float](repeating: 0, count: r * c)
                for i in 0..<r { for j in 0..<c { out[j * r + i] = t.values[i * c + j] } }
                map[name] = ([c, r], out)
            }
        })
        let a = try load(transposed), b = try load(try variant())
        let key = LoraModuleKey(layer: 1, module: .vProj)
        #expect(a.modules[key]?.a.storage.array == b.modules[key]?.a.storage.array)
        #expect(a.modules[key]?.b.storage.array == b.modules[key]?.b.storage.array)
    }

    @Test func invalidExcludeRegexAndBooleanPatternValuesAreRefused() throws {
        // An exclude regex that does not compile must not silently exclude nothing.
        #expect { try load(try variant { $0["exclude_modules"] = "(unclosed" }) } throws: {
            ($0 as? AdapterLoadError).map { if case .invalidConfig(_, "exclude_modules", _) = $0 { true } else { false } } ?? false
        }
        // JSON true is not rank 1 (nor alpha 1).
        #expect { try load(try variant { $0["rank_pattern"] = ["q_proj": true] }) } throws: {
            ($0 as? AdapterLoadError).map { if case .badRankOrAlpha(_, "rank_pattern.q_proj", _, _) = $0 { true } else { false } } ?? false
        }
        #expect { try load(try variant { $0["alpha_pattern"] = ["q_proj": true] }) } throws: {
            ($0 as? AdapterLoadError).map { if case .badRankOrAlpha(_, "alpha_pattern.q_proj", _, _) = $0 { true } else { false } } ?? false
        }
    }

    @Test func scalingTooLargeForAFloatIsRefused() throws {
        // 1e300 is a finite Double, but 1e300 / 8 is +inf as a Float.
        #expect { try load(try variant { $0["lora_alpha"] = 1e300 }) } throws: { error in
            guard case AdapterLoadError.scalingOverflow(let path, let module, 1e300, 8, false) = error else { return false }
            return path.hasSuffix("adapter_config.json") && module.hasPrefix("model.layers.") && "\(error)".contains("1e+300")
        }
        // Through alpha_pattern too: the module it names is the one reported.
        #expect { try load(try variant { $0["alpha_pattern"] = ["o_proj": 1e40] }) } throws: { error in
            guard case AdapterLoadError.scalingOverflow(_, let module, 1e40, 8, false) = error else { return false }
            return module.hasSuffix("self_attn.o_proj")
        }
    }

    @Test func userScaleOverflowingTheScalingIsRefused() throws {
        // attn-r8 scales by alpha 16 / r 8 = 2: a finite user scale of 3e38 makes +inf.
        let adapter = try load(try variant())
        #expect { _ = try AdapterSet([.init(adapter: adapter, scale: 3e38)], model: model) } throws: { error in
            guard case AdapterLoadError.scaleOverflow(adapter.name, 3e38, let module, 2) = error else { return false }
            return module.hasPrefix("model.layers.0.") && "\(error)".contains("'\(adapter.name)'") && "\(error)".contains("3e+38")
        }
        #expect { _ = try AdapterSet([.init(adapter: adapter, scale: -3e38)], model: model) } throws: { $0 is AdapterLoadError }
        // A large scale whose product fits is still accepted.
        _ = try AdapterSet([.init(adapter: adapter, scale: 1e6)], model: model)
        // A finite scale times finite B values can still overflow: B entries of 1e30 with alpha/r 2 at scale 1e9.
        let hugeB = try load(try variant(tensors: { map in
            if let b = map[Self.qB] { map[Self.qB] = (b.shape, b.values.map { $0 == 0 ? 1e30 : $0.sign == .minus ? -1e30 : 1e30 }) }
        }))
        _ = try AdapterSet([.init(adapter: hugeB, scale: 1)], model: model)
        #expect { _ = try AdapterSet([.init(adapter: hugeB, scale: 1e9)], model: model) } throws: { error in
            guard case AdapterLoadError.scaleOverflow(hugeB.name, 1e9, let module, 2) = error else { return false }
            return module == "model.layers.0.self_attn.q_proj"
        }
    }

    @Test func invalidConfigJSONIsRefused() throws {
        let dir = try variant()
        try Data("{ not json".utf8).write(to: dir.appendingPathComponent("adapter_config.json"))
        #expect { try load(dir) } throws: { ($0 as? AdapterLoadError).map { if case .invalidConfig = $0 { true } else { false } } ?? false }
    }
}
