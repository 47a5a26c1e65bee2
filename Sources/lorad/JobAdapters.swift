import Foundation
import LoraModel
import Synchronization

/// The adapter directories named by `lorad generate` job lines ("loras"), each loaded once and shared by every
/// job that names it (so the engine's cache sees one adapter, and one set per distinct scales).
final class JobAdapters: Sendable {
    private let model: LlamaConfig
    private let loaded = Mutex<[String: Result<LoraAdapter, any Error>]>([:])

    init(model: LlamaConfig) { self.model = model }

    /// The adapter in `directory` (as given, relative to the working directory), named after its last path
    /// component like `--adapter`. A directory that failed to load fails the same way for every job.
    func adapter(_ directory: String) throws -> LoraAdapter {
        if let known = loaded.withLock({ $0[directory] }) { return try known.get() }
        let result = Result { try LoraAdapter(directory: URL(fileURLWithPath: directory), model: model) }
        loaded.withLock { $0[directory] = result }
        return try result.get()
    }
}
