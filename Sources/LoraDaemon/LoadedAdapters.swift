import Foundation
import LoraModel
import LoraRegistry
import Synchronization

/// Adapters read from the registry's content directories, kept in memory by digest so that `setLoras` does
/// not re-read files it has read before (two names with the same content share one copy).
final class LoadedAdapters: Sendable {
    private let registry: AdapterRegistry
    private let model: LlamaConfig
    private let cache = Mutex<[String: LoraAdapter]>([:])

    init(registry: AdapterRegistry, model: LlamaConfig) {
        self.registry = registry
        self.model = model
    }

    /// The adapter registered as `name`, loaded and validated against the model, under that name. Throws
    /// `DaemonError` (AdapterNotFound, AdapterBroken, AdapterIncompatible, AdapterInvalid).
    func adapter(named name: String) throws -> LoraAdapter {
        try load(name).adapter
    }

    private func load(_ name: String) throws -> (adapter: LoraAdapter, digest: String) {
        let record: AdapterRecord
        do {
            record = try registry.activatable(name: name)
        } catch {
            throw DaemonErrors.map(error)
        }
        if let cached = cache.withLock({ $0[record.digest] }) { return (cached.renamed(name), record.digest) }
        let loaded: LoraAdapter
        do {
            loaded = try LoraAdapter(directory: registry.contentDirectory(for: record), model: model, name: name)
        } catch {
            throw DaemonError(.adapterInvalid, "adapter \(name) cannot be loaded: \(error); verify it with verifyAdapters or import it again",
                              details: [("adapter", .string(name))])
        }
        cache.withLock { $0[record.digest] = loaded }
        return (loaded, record.digest)
    }

    /// An adapter-set entry for `name` at `scale`, keyed by the registry's digest so that sets built from the
    /// same content share the engine's cache whatever the adapters are called.
    func entry(named name: String, scale: Float) throws -> AdapterSet.Entry {
        let (adapter, digest) = try load(name)
        return AdapterSet.Entry(adapter: adapter, scale: scale, contentKey: digest)
    }

    /// Forgets the adapters whose content is no longer registered.
    func prune(keeping digests: Set<String>) {
        cache.withLock { cache in cache = cache.filter { digests.contains($0.key) } }
    }
}

extension LoraAdapter {
    /// The same weights under another name (results report the name the user activated).
    func renamed(_ newName: String) -> LoraAdapter {
        newName == name ? self : LoraAdapter(name: newName, config: config, modules: modules)
    }
}
