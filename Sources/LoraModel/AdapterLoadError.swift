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
    /// `r` or `lora_alpha` (or a pattern entry) is not a usable number.
    case badRankOrAlpha(path: String, key: String, value: String)
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
        case let .badRankOrAlpha(path, key, value):
            return "\(path): '\(key)' = \(value) must be a positive integer rank / a finite alpha"
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
