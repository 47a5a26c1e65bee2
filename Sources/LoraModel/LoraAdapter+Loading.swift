import Foundation
import LoraNumerics

extension LoraAdapter {
    /// Reads the PEFT adapter in `directory` (adapter_config.json + adapter_model.safetensors) and checks it
    /// against `model`: every tensor must be the A or B of a targeted projection of a layer the model has, with
    /// shapes A (r × in), B (out × r), finite values, and every A with its B. Throws `AdapterLoadError`.
    public init(directory: URL, model: LlamaConfig, name: String? = nil) throws {
        let fm = FileManager.default
        let configURL = directory.appendingPathComponent("adapter_config.json")
        let weightsURL = directory.appendingPathComponent("adapter_model.safetensors")
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AdapterLoadError.io(path: directory.path, reason: "not a directory")
        }
        guard fm.fileExists(atPath: weightsURL.path) else {
            if fm.fileExists(atPath: directory.appendingPathComponent("adapter_model.bin").path) {
                throw AdapterLoadError.pickleOnly(directory: directory.path)
            }
            throw AdapterLoadError.io(path: weightsURL.path, reason: "adapter_model.safetensors is missing")
        }
        let configData: Data
        do { configData = try Data(contentsOf: configURL) } catch {
            throw AdapterLoadError.io(path: configURL.path, reason: "adapter_config.json is missing or unreadable")
        }
        let peft = try PEFTAdapterConfig(json: configData, path: configURL.path)
        let file: SafetensorsFile
        do { file = try SafetensorsFile(path: weightsURL.path) } catch let e as ModelLoadError {
            throw AdapterLoadError.weights(e)
        }
        let modules = try Self.readModules(file: file, peft: peft, model: model, path: weightsURL.path, configPath: configURL.path)
        self.init(name: name ?? directory.lastPathComponent, config: peft, modules: modules)
    }

    /// Parsed form of `base_model.model.model.layers.N.self_attn.q_proj.lora_A[.adapter].weight`.
    struct TensorName {
        var key: LoraModuleKey
        var isA: Bool
        /// The adapter-name segment (`default` in `lora_A.default.weight`), nil when the name has none.
        var adapterName: String?

        /// `lora_A` or `lora_B`.
        var matrix: String { isA ? "lora_A" : "lora_B" }
    }

    static func parseTensorName(_ raw: String, layerCount: Int, path: String) throws -> TensorName {
        var name = Substring(raw)
        if name.hasPrefix("base_model.model.") { name = name.dropFirst("base_model.model.".count) }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if raw.contains("lora_magnitude_vector") {
            throw AdapterLoadError.unsupportedFeature(path: path, key: raw, value: "DoRA magnitude", reason: "DoRA adapters are not supported")
        }
        if raw.contains("lora_embedding_") {
            throw AdapterLoadError.unsupportedFeature(path: path, key: raw, value: "embedding LoRA", reason: "adapters on the token embedding are not supported")
        }
        // model . layers . N . self_attn|mlp . proj . lora_A|lora_B [. adapter-name] . weight
        guard parts.count == 7 || parts.count == 8, parts[0] == "model", parts[1] == "layers", parts.last == "weight",
              parts[5] == "lora_A" || parts[5] == "lora_B", parts.count == 7 || !parts[6].isEmpty else {
            throw AdapterLoadError.unknownTensor(path: path, tensor: raw)
        }
        // Int() also reads "01" and "+1"; such a name would alias layer 1's, so only the canonical form passes.
        guard let layer = Int(parts[2]), layer >= 0, String(layer) == parts[2] else {
            if parts[2].allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "+" || $0 == "-") }), !parts[2].isEmpty {
                throw AdapterLoadError.nonCanonicalLayer(path: path, tensor: raw, layer: parts[2])
            }
            throw AdapterLoadError.unknownTensor(path: path, tensor: raw)
        }
        let moduleName = "model.layers.\(parts[2]).\(parts[3]).\(parts[4])"
        guard let module = LlamaModule(rawValue: parts[4]), module.path == "\(parts[3]).\(parts[4])", layer < layerCount else {
            throw AdapterLoadError.moduleNotInModel(path: path, tensor: raw, module: moduleName)
        }
        return TensorName(key: LoraModuleKey(layer: layer, module: module), isA: parts[5] == "lora_A", adapterName: parts.count == 8 ? parts[6] : nil)
    }

    /// Parses every tensor name of the file and refuses what could mix tensors up: more than one adapter name
    /// (PEFT's `save_pretrained` strips the name, so a file that keeps it may hold several adapters) and two
    /// tensors for one module's A or B. Without this a later key silently replaced an earlier one.
    static func pairTensors(file: SafetensorsFile, layerCount: Int, path: String) throws -> [(name: TensorName, info: TensorInfo)] {
        var parsed: [(name: TensorName, info: TensorInfo)] = []
        for raw in file.names {
            guard let info = file.tensors[raw] else { continue }
            parsed.append((try parseTensorName(raw, layerCount: layerCount, path: path), info))
        }
        let adapterNames = Set(parsed.map { $0.name.adapterName ?? "" })
        if adapterNames.count > 1 {
            throw AdapterLoadError.multipleAdapterNames(path: path, names: adapterNames.sorted().map { $0.isEmpty ? "(tensors without a name)" : "'\($0)'" })
        }
        var seen: [String: String] = [:]
        for (name, info) in parsed {
            let slot = "\(name.key.name).\(name.matrix)"
            if let first = seen[slot] {
                throw AdapterLoadError.duplicateTensor(path: path, module: name.key.name, matrix: name.matrix, first: first, second: info.name)
            }
            seen[slot] = info.name
        }
        return parsed
    }

    static func readModules(file: SafetensorsFile, peft: PEFTAdapterConfig, model: LlamaConfig, path: String, configPath: String) throws -> [LoraModuleKey: LoraModuleWeights] {
        let matcher = PEFTModuleMatcher(config: peft)
        var targeted: Set<LoraModuleKey> = []
        for layer in 0..<model.layerCount {
            for module in LlamaModule.allCases {
                let key = LoraModuleKey(layer: layer, module: module)
                if matcher.targets(key.name, layer: layer) { targeted.insert(key) }
            }
        }
        guard !targeted.isEmpty else {
            let rendered: String
            switch peft.targets {
            case .names(let n): rendered = "\(n)"
            case .regex(let r): rendered = "\"\(r)\""
            case .allLinear: rendered = "\"all-linear\""
            }
            throw AdapterLoadError.targetsNothing(path: configPath, targetModules: rendered)
        }

        var aTensors: [LoraModuleKey: TensorInfo] = [:], bTensors: [LoraModuleKey: TensorInfo] = [:]
        for (parsed, info) in try pairTensors(file: file, layerCount: model.layerCount, path: path) {
            guard targeted.contains(parsed.key) else {
                throw AdapterLoadError.moduleNotInModel(path: path, tensor: info.name, module: parsed.key.name)
            }
            if parsed.isA { aTensors[parsed.key] = info } else { bTensors[parsed.key] = info }
        }

        var modules: [LoraModuleKey: LoraModuleWeights] = [:]
        for key in targeted.sorted() {
            let a = aTensors[key], b = bTensors[key]
            if a == nil && b == nil { throw AdapterLoadError.missingModule(path: path, module: key.name) }
            guard let a else { throw AdapterLoadError.missingPair(path: path, module: key.name, missing: "lora_A") }
            guard let b else { throw AdapterLoadError.missingPair(path: path, module: key.name, missing: "lora_B") }
            let rank = matcher.rank(for: key.name)
            let alpha = matcher.alpha(for: key.name)
            guard rank > 0 else { throw AdapterLoadError.badRankOrAlpha(path: configPath, key: "r", value: "\(rank)", reason: "is not positive") }
            let (outDim, inDim) = key.module.shape(model)
            let aMatrix = try matrix(file, a, rows: rank, cols: inDim, transposedAllowed: peft.fanInFanOut, path: path)
            let bMatrix = try matrix(file, b, rows: outDim, cols: rank, transposedAllowed: peft.fanInFanOut, path: path)
            let scaling = peft.useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
            // A finite Double alpha can still overflow Float (lora_alpha 1e300 gave +inf scaling).
            guard Float(scaling).isFinite else {
                throw AdapterLoadError.scalingOverflow(path: configPath, module: key.name, alpha: alpha, rank: rank, rsLoRA: peft.useRSLoRA)
            }
            modules[key] = LoraModuleWeights(a: aMatrix, b: bMatrix, scaling: Float(scaling))
        }
        return modules
    }

    /// Reads one tensor as a rows × cols matrix. With `fan_in_fan_out`, a tensor stored transposed (cols × rows)
    /// is accepted and transposed; PEFT itself resets the flag for `nn.Linear` targets, so the normal layout
    /// is accepted too.
    static func matrix(_ file: SafetensorsFile, _ info: TensorInfo, rows: Int, cols: Int, transposedAllowed: Bool, path: String) throws -> Matrix {
        let values: FloatBuffer
        do { values = try file.floats(info) } catch let e as ModelLoadError { throw AdapterLoadError.weights(e) }
        for i in 0..<values.count where !values.pointer[i].isFinite {
            throw AdapterLoadError.nonFinite(path: path, tensor: info.name)
        }
        if info.shape == [rows, cols] {
            return Matrix(rows: rows, cols: cols, storage: values)
        }
        if transposedAllowed, info.shape == [cols, rows] {
            let out = Matrix(rows: rows, cols: cols)
            for r in 0..<rows { for c in 0..<cols { out.pointer[r * cols + c] = values.pointer[c * rows + r] } }
            return out
        }
        throw AdapterLoadError.shapeMismatch(path: path, tensor: info.name, expected: [rows, cols], actual: info.shape)
    }
}
