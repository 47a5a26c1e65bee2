/// Why a registry operation failed. Each message says what to do.
public enum RegistryError: Error, Equatable, CustomStringConvertible {
    /// An adapter with this name exists and `replace` was not asked.
    case adapterExists(name: String)
    /// No adapter has this name.
    case adapterNotFound(name: String)
    /// The adapter is in the active set, so it cannot be replaced or removed.
    case adapterActive(name: String)
    /// The name breaks the naming rules.
    case invalidName(name: String, reason: String)
    /// The source path is not a readable adapter directory.
    case invalidSource(path: String, reason: String)
    /// The adapter's files do not pass validation (LoraModel's checks).
    case adapterInvalid(name: String, reason: String)
    /// The adapter does not fit the loaded model (made for another model, or recorded against another one).
    case incompatible(name: String, reason: String)
    /// The adapter's stored files are missing or corrupt.
    case broken(name: String, reason: String)
    /// Another process (a second lorad) holds the state directory's lock.
    case locked(directory: String)
    /// A file-system operation in the state directory failed.
    case io(path: String, reason: String)
    /// The registry database failed.
    case database(reason: String)
    /// The registry was closed (`close()`); open a new one.
    case closed

    public var description: String {
        switch self {
        case let .adapterExists(name):
            return "adapter '\(name)' already exists; choose another name, or replace it (replace: true) if it is not active"
        case let .adapterNotFound(name):
            return "no adapter named '\(name)'; listAdapters shows the adapters the registry holds"
        case let .adapterActive(name):
            return "adapter '\(name)' is in the active adapter set; remove it from the set with setLoras first"
        case let .invalidName(name, reason):
            return "invalid adapter name '\(name)': \(reason); use 1 to 128 letters, digits, '-', '_' or '.', not starting with '.'"
        case let .invalidSource(path, reason):
            return "cannot import from \(path): \(reason); give a readable directory holding adapter_config.json and adapter_model.safetensors"
        case let .adapterInvalid(name, reason):
            return "adapter '\(name)' is not a usable LoRA adapter: \(reason)"
        case let .incompatible(name, reason):
            return "adapter '\(name)' does not fit the loaded model: \(reason); import an adapter trained for this model, or start lorad with the model the adapter was made for"
        case let .broken(name, reason):
            return "adapter '\(name)' is broken (\(reason)); run verifyAdapters to re-check it, or remove it and import it again"
        case let .locked(directory):
            return "the state directory \(directory) is held by another lorad (its lock file \(directory)/lock is taken); stop the other lorad, or give this one its own state directory"
        case let .io(path, reason):
            return "file-system error at \(path): \(reason); check the state directory's permissions and free space"
        case let .database(reason):
            return "registry database error: \(reason); check the state directory's permissions and free space"
        case .closed:
            return "the adapter registry is closed"
        }
    }
}
