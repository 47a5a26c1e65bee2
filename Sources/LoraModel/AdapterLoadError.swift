/// Why a PEFT adapter cannot be used with the loaded model. Each message names the file, key or tensor and
/// says what to do.
public enum AdapterLoadError: Error, Equatable, CustomStringConvertible {
    /// The directory or a file in it cannot be read.
    case io(path: String, reason: String)
    /// Only a pickled `adapter_model.bin` is present.
    case pickleOnly(directory: String)
    /// `adapter_config.json` is not valid JSON or has a key of the wrong type.
    case invalidConfig(path: String, key: String?, reason: String)
    /// A config key asks for something lorad does not implement (DoRA, modules_to_save, biases, ...).
    case unsupportedFeature(path: String, key: String, value: String, reason: String)
    /// `target_modules` (after `layers_to_transform` / `exclude_modules`) matches no module of the model.
    case targetsNothing(path: String, targetModules: String)
    /// A tensor name is not a LoRA weight of a Llama projection.
    case unknownTensor(path: String, tensor: String)
    /// A tensor belongs to a module outside the model (layer index too large) or not targeted by the config.
    case moduleNotInModel(path: String, tensor: String, module: String)
    /// A module's A (or B) has no B (or A).
    case missingPair(path: String, module: String, missing: String)
    /// A targeted module has no tensors at all.
    case missingModule(path: String, module: String)
    /// A tensor's shape does not fit the model (the adapter was trained for another model) or its rank.
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])
    /// A tensor holds NaN or infinity.
    case nonFinite(path: String, tensor: String)
    /// `r` or `lora_alpha` (or a pattern entry) is not a usable number; `reason` says what is wrong with it.
    case badRankOrAlpha(path: String, key: String, value: String, reason: String)
    /// A tensor name's layer index is not written canonically (`01`, `+1`): it could alias another layer's.
    case nonCanonicalLayer(path: String, tensor: String, layer: String)
    /// Two tensors are the A (or B) of the same module, e.g. with and without the `base_model.model.` prefix;
    /// lorad will not pick one.
    case duplicateTensor(path: String, module: String, matrix: String, first: String, second: String)
    /// The file holds the tensors of more than one adapter (the name segment of `lora_A.<name>.weight`
    /// differs, or is present on some tensors only).
    case multipleAdapterNames(path: String, names: [String])
    /// A user scale is NaN or infinite.
    case nonFiniteScale(adapter: String, scale: Float)
    /// A module's `lora_alpha / r` (or `/ √r`) is finite but too large for a Float.
    case scalingOverflow(path: String, module: String, alpha: Double, rank: Int, rsLoRA: Bool)
    /// A finite user scale times a module's alpha/r scaling is too large for a Float.
    case scaleOverflow(adapter: String, scale: Float, module: String, scaling: Float)
    /// The safetensors file itself is broken.
    case weights(ModelLoadError)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "cannot read adapter \(path): \(reason)"
        case let .pickleOnly(directory):
            return "\(directory) holds only adapter_model.bin, a Python pickle, which lorad never loads; convert it to adapter_model.safetensors (for example with peft: model.save_pretrained(dir, safe_serialization=True))"
        case let .invalidConfig(path, key, reason):
            return "\(path): \(key.map { "key '\($0)': " } ?? "")\(reason)"
        case let .unsupportedFeature(path, key, value, reason):
            return "\(path): '\(key)' = \(value) is not supported: \(reason)"
        case let .targetsNothing(path, target):
            return "\(path): target_modules \(target) matches no module of the loaded model; the adapter was made for another architecture"
        case let .unknownTensor(path, tensor):
            return "\(path): tensor '\(tensor)' is not a LoRA weight (expected base_model.model.model.layers.N.<self_attn|mlp>.<proj>.lora_A/lora_B.weight)"
        case let .moduleNotInModel(path, tensor, module):
            return "\(path): tensor '\(tensor)' is for module '\(module)', which the loaded model does not have or the adapter config does not target; the adapter was trained for another model"
        case let .missingPair(path, module, missing):
            return "\(path): module '\(module)' has no \(missing) tensor; the adapter file is incomplete"
        case let .missingModule(path, module):
            return "\(path): target module '\(module)' has no lora_A/lora_B tensors; the adapter file is incomplete"
        case let .shapeMismatch(path, tensor, expected, actual):
            return "\(path): tensor '\(tensor)' has shape \(actual), expected \(expected) for the loaded model; the adapter was trained for another model"
        case let .nonFinite(path, tensor):
            return "\(path): tensor '\(tensor)' contains NaN or infinity"
        case let .badRankOrAlpha(path, key, value, reason):
            return "\(path): '\(key)' = \(value) \(reason); a rank must be a positive integer and an alpha a finite number"
        case let .nonCanonicalLayer(path, tensor, layer):
            return "\(path): tensor '\(tensor)' writes its layer index as '\(layer)'; only plain decimal indices (0, 1, 12, no sign or leading zero) are accepted, so two names cannot mean one layer; rename the tensor"
        case let .duplicateTensor(path, module, matrix, first, second):
            return "\(path): tensors '\(first)' and '\(second)' are both the \(matrix) of module '\(module)'; the file is ambiguous: keep one of them"
        case let .multipleAdapterNames(path, names):
            return "\(path): the file holds tensors of more than one adapter (\(names.joined(separator: ", "))); lorad loads one adapter per directory: save each on its own (peft: model.save_pretrained(dir, selected_adapters=[name]))"
        case let .nonFiniteScale(adapter, scale):
            return "adapter '\(adapter)': scale \(scale) must be a finite number"
        case let .scalingOverflow(path, module, alpha, rank, rsLoRA):
            return "\(path): module '\(module)': lora_alpha \(alpha) / \(rsLoRA ? "√r" : "r") (r = \(rank)) is too large for a 32-bit float (at most \(Float.greatestFiniteMagnitude)); the adapter config is corrupt"
        case let .scaleOverflow(adapter, scale, module, scaling):
            return "adapter '\(adapter)': scale \(scale) times the alpha/r scaling \(scaling) of module '\(module)' makes its lora_B weights too large for a 32-bit float (at most \(Float.greatestFiniteMagnitude)); use a smaller scale"
        case let .weights(error):
            return error.description
        }
    }
}
