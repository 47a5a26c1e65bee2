/// Everything that can be wrong with a checkpoint, its config or its tensors. Each message names the file,
/// key or tensor, what was expected and what was found, and what to do where that is not obvious.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case io(path: String, reason: String)
    /// The safetensors file is shorter than its 8-byte header length field.
    case truncatedFile(path: String, size: Int)
    /// The header length is over the 100 MiB cap.
    case headerTooLarge(path: String, length: UInt64)
    /// The header length points past the end of the file.
    case headerPastEnd(path: String, length: UInt64, fileSize: Int)
    /// The header is not a JSON object.
    case invalidHeaderJSON(path: String, reason: String)
    /// A tensor entry lacks a field or has one of the wrong type.
    case malformedTensorEntry(path: String, tensor: String, reason: String)
    /// A tensor's dtype is not a safetensors dtype.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor's dtype is valid safetensors but not a float type lorad converts.
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// shape × dtype size differs from the byte span.
    case sizeMismatch(path: String, tensor: String, shape: [Int], dtype: String, expectedBytes: Int, actualBytes: Int)
    /// A tensor's byte span is outside the data section.
    case spanOutOfBounds(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    /// Two tensors share bytes.
    case overlappingSpans(path: String, first: String, second: String)
    /// A tensor the config requires is absent.
    case missingTensor(name: String)
    /// A tensor is present that the config does not explain.
    case unexpectedTensor(name: String, path: String)
    /// A tensor has the wrong shape for the config.
    case wrongShape(name: String, expected: [Int], actual: [Int])
    /// The index file of a sharded checkpoint is malformed or names a missing shard.
    case invalidIndex(path: String, reason: String)
    /// Neither model.safetensors nor a sharded index was found.
    case noWeights(directory: String)
    /// config.json could not be parsed.
    case invalidConfig(path: String, reason: String)
    /// A config key has a value lorad does not support or that is inconsistent.
    case unsupportedConfig(key: String, value: String, reason: String)

    public var description: String {
        switch self {
        case let .io(path, reason):
            return "cannot read \(path): \(reason)"
        case let .truncatedFile(path, size):
            return "\(path) is truncated: \(size) bytes, but a safetensors file starts with an 8-byte header length"
        case let .headerTooLarge(path, length):
            return "\(path): safetensors header length \(length) exceeds the 100 MiB limit; the file is corrupt or not safetensors"
        case let .headerPastEnd(path, length, fileSize):
            return "\(path): safetensors header length \(length) runs past the end of the \(fileSize)-byte file; the file is truncated or corrupt"
        case let .invalidHeaderJSON(path, reason):
            return "\(path): safetensors header is not a valid JSON object (\(reason))"
        case let .malformedTensorEntry(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .unknownDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has unknown dtype '\(dtype)'"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); lorad loads F32, F16 and BF16 weights (convert the checkpoint)"
        case let .sizeMismatch(path, tensor, shape, dtype, expected, actual):
            return "\(path): tensor '\(tensor)' of shape \(shape) and dtype \(dtype) needs \(expected) bytes but its span holds \(actual)"
        case let .spanOutOfBounds(path, tensor, begin, end, dataSize):
            return "\(path): tensor '\(tensor)' spans bytes \(begin)..<\(end), outside the \(dataSize)-byte data section"
        case let .overlappingSpans(path, first, second):
            return "\(path): tensors '\(first)' and '\(second)' overlap"
        case let .missingTensor(name):
            return "tensor '\(name)' is missing from the checkpoint"
        case let .unexpectedTensor(name, path):
            return "\(path): unexpected tensor '\(name)' (not part of a Llama model with this config)"
        case let .wrongShape(name, expected, actual):
            return "tensor '\(name)' has shape \(actual), expected \(expected) for this config"
        case let .invalidIndex(path, reason):
            return "\(path): \(reason)"
        case let .noWeights(directory):
            return "\(directory) has neither model.safetensors nor model.safetensors.index.json"
        case let .invalidConfig(path, reason):
            return "\(path): \(reason)"
        case let .unsupportedConfig(key, value, reason):
            return "config key '\(key)' = \(value): \(reason)"
        }
    }
}
