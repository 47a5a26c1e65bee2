import Dispatch
import Foundation
import Logging
import LoraEngine
import LoraModel
import LoraRegistry
import LoraRPC
import LoraTokenizer
import Synchronization

/// The service: one model served by one engine, the adapter registry, and the JSON-RPC control plane on a
/// Unix socket (DESIGN.md §8). `start` brings it up in order (model, registry, restored adapters, engine,
/// socket); `shutdown` takes it down in reverse.
public final class Daemon: Sendable {
    /// The daemon's version, reported by `status` and `rpc.discover`.
    public static let version = "0.3.0"

    let modelInfo: ModelInfo
    let model: LlamaModel
    let tokenizer: Tokenizer
    let engine: Engine
    let registry: AdapterRegistry
    let loaded: LoadedAdapters
    let jobs = JobTracker()
    let logger: Logger
    /// Settings that `reload` may change, and the policy built from them.
    let live: Mutex<LiveSettings>
    /// How the configuration was read (`reload` reads it again the same way).
    let loader: ConfigurationLoader
    /// The configuration it started with (what `reload` compares against).
    let startConfiguration: DaemonConfiguration
    /// Why the committed adapter set could not be restored at start, if it could not.
    let restoreProblem: String?
    let startedAt = DispatchTime.now()
    let stopping = Atomic<Bool>(false)
    /// Imports, verification and adapter loading: file work that must not hold the socket queue.
    let work = DispatchQueue(label: "lorad.work", qos: .userInitiated, attributes: .concurrent)
    let serverBox = Mutex<UnixSocketServer?>(nil)
    let cachedRegistryCounts = Mutex<RegistryCounts?>(nil)
    /// Bumped by every registry change, so that counts read before a change are not cached after it.
    let registryGeneration = Atomic<UInt64>(0)
    /// Jobs are submitted here, in arrival order, off the socket's queue (tokenizing a long prompt and loading a
    /// job's own adapters take time).
    let submitQueue = DispatchQueue(label: "lorad.submit", qos: .userInitiated)
    /// Adapter verification, one at a time: re-hashing is disk and CPU work that many requests must not multiply.
    let verifyQueue = DispatchQueue(label: "lorad.verify", qos: .utility)
    /// Connections whose close already cancels their jobs (one callback each, however many jobs they submit).
    let watchedConnections = Mutex<Set<UInt64>>([])
    /// The adapter names of setLoras calls not yet committed or failed, by call: in use as much as the set in
    /// force (removing one would commit a set whose adapter is gone).
    let pendingSetLorasNames = Mutex<(next: UInt64, calls: [UInt64: Set<String>])>((0, [:]))

    /// How many adapters the registry holds, for `status`.
    struct RegistryCounts: Sendable {
        var adapters: Int
        var broken: Int
        var incompatible: Int
    }
    /// systemd's notification socket (a no-op without one).
    let notifier: ServiceNotifier
    /// Feeds systemd's watchdog while serving, when systemd asked for one.
    let watchdog = Mutex<ServiceWatchdog?>(nil)
    /// Keeps systemd's `STATUS=` current while serving.
    let statusTimer = Mutex<RepeatingTimer?>(nil)
    /// Set while the test hook holds the engine thread (`LORAD_TEST_HOOKS=1`, SIGUSR2).
    let testStall = Atomic<Bool>(false)

    /// The parts of the configuration that apply without a restart.
    struct LiveSettings: Sendable {
        var configuration: DaemonConfiguration
        var authorization: Authorization
    }

    /// Loads the model, opens the registry, restores the committed adapter set (falling back to none, with a
    /// logged and reported reason, when it cannot) and starts the engine. The socket is started by `serve`.
    /// `notifier` is told each phase (`STATUS=`); `ready` is sent by `startServing`.
    public init(configuration: DaemonConfiguration, loader: ConfigurationLoader, logger: Logger,
                notifier: ServiceNotifier = ServiceNotifier(environment: [:])) throws {
        try configuration.validate()
        self.logger = logger
        self.notifier = notifier
        self.loader = loader
        startConfiguration = configuration
        let directory: URL
        if let path = configuration.modelPath {
            directory = URL(fileURLWithPath: path)
        } else {
            guard let demo = DemoBundle.locate() else {
                throw DaemonStartError.demoMissing(DemoBundle.candidates().map(\.path))
            }
            directory = demo.model
            logger.notice("no model configured: serving the embedded demo (stories260K with the dragon and snow adapters)", metadata: ["path": "\(directory.path)"])
        }
        logger.info("loading the model", metadata: ["path": "\(directory.path)"])
        notifier.status("loading the model from \(directory.path)")
        let sampling: SamplingParameters
        do {
            model = try LlamaModel(directory: directory, precision: configuration.weightPrecision)
            tokenizer = try Tokenizer(directory: directory)
            sampling = try GenerationDefaults.sampling(model.config.generation)
        } catch {
            throw DaemonStartError.model(path: directory.path, reason: "\(error)")
        }
        modelInfo = ModelInfo(directory: directory, config: model.config, demo: configuration.servesDemo)

        do {
            registry = try AdapterRegistry(stateDirectory: URL(fileURLWithPath: configuration.stateDirectory), model: model.config,
                                           logger: logger)
        } catch {
            throw DaemonStartError.registry(reason: "\(error)")
        }
        Self.logRecovery(registry.recovery, logger: logger)
        notifier.status("restoring adapters from \(configuration.stateDirectory)")
        loaded = LoadedAdapters(registry: registry, model: model.config)
        if configuration.servesDemo { Self.registerDemoAdapters(registry: registry, logger: logger) }

        let (initial, epoch, problem) = Self.restoreCommittedSet(registry: registry, loaded: loaded, model: model,
                                                                 engineConfiguration: configuration.engine, logger: logger)
        restoreProblem = problem
        let registry = self.registry
        engine = try Engine(
            model: model, tokenizer: tokenizer, configuration: configuration.engine, adapters: initial, initialEpoch: epoch,
            defaultSampling: sampling, logger: logger,
            commitHook: { commit in
                try registry.recordCommit(epoch: commit.epoch, entries: commit.adapters.map { CommittedEntry(name: $0.name, scale: $0.scale) })
            })
        live = Mutex(LiveSettings(configuration: configuration,
                                  authorization: Authorization(users: configuration.adminUsers, groups: configuration.adminGroups)))
        for name in live.withLock({ $0.authorization.unresolved }) {
            logger.warning("access: \(name) named in the configuration does not exist; ignored until it does and lorad is reloaded")
        }
    }

    /// On the demo's first start (an empty registry that never committed a set), registers `dragon` and `snow`.
    static func registerDemoAdapters(registry: AdapterRegistry, logger: Logger) {
        guard let demo = DemoBundle.locate() else { return }
        guard (try? registry.list().isEmpty) == true, (try? registry.committedSet()) == nil else { return }
        for (name, directory) in demo.adapters {
            do {
                _ = try registry.importAdapter(name: name, from: directory, replace: false, activeNames: [])
                logger.info("registered the demo adapter", metadata: ["adapter": "\(name)"])
            } catch {
                logger.warning("cannot register the demo adapter: \(error)", metadata: ["adapter": "\(name)"])
            }
        }
    }

    /// The set the registry last committed, built for the engine; no adapters (and the reason) when it cannot be.
    static func restoreCommittedSet(registry: AdapterRegistry, loaded: LoadedAdapters, model: LlamaModel,
                                    engineConfiguration: EngineConfiguration, logger: Logger) -> (AdapterSet, UInt64, String?) {
        let committed: CommittedSet?
        do {
            committed = try registry.committedSet()
        } catch {
            let problem = "cannot read the committed adapter set: \(error)"
            logger.error("\(problem); starting with adapters disabled")
            return (.none, 0, problem)
        }
        guard let committed else { return (.none, 0, nil) }
        do {
            let entries = try committed.entries.map { AdapterSet.Entry(adapter: try loaded.adapter(named: $0.name), scale: $0.scale) }
            let set = entries.isEmpty ? AdapterSet.none : try AdapterSet(entries, model: model, mode: engineConfiguration.loraMode,
                                                                           mergeBudgetBytes: engineConfiguration.mergeBudgetBytes)
            logger.info("restored the committed adapter set", metadata: ["epoch": "\(committed.epoch)", "adapters": "\(committed.entries.map(\.name))"])
            return (set, committed.epoch, nil)
        } catch {
            let problem = "the committed adapter set (epoch \(committed.epoch): \(committed.entries.map(\.name).joined(separator: ", "))) cannot be restored: \(error)"
            logger.error("\(problem); starting with adapters disabled")
            // A new epoch: clients must not take "no adapters" for the set the committed epoch meant.
            return (.none, committed.epoch + 1, problem)
        }
    }

    static func logRecovery(_ report: RecoveryReport, logger: Logger) {
        for path in report.removedTemporaryDirectories { logger.notice("registry recovery: removed an unfinished import", metadata: ["path": "\(path)"]) }
        for path in report.removedOrphanDirectories { logger.notice("registry recovery: removed files no adapter uses", metadata: ["path": "\(path)"]) }
        for broken in report.brokenAdapters {
            logger.error("registry recovery: adapter \(broken.name) is broken (\(broken.reason)); add it again with replace", metadata: ["adapter": "\(broken.name)"])
        }
        for name in report.repairedAdapters { logger.notice("registry recovery: adapter \(name) is intact again", metadata: ["adapter": "\(name)"]) }
        for name in report.incompatibleAdapters {
            logger.warning("adapter \(name) was validated against another model and does not fit this one; it is kept but cannot be activated",
                           metadata: ["adapter": "\(name)"])
        }
    }

    /// Seconds since start.
    var uptimeSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startedAt.uptimeNanoseconds) / 1e9 }

    /// Whether `context`'s peer may call admin methods.
    func isAdmin(_ context: any CallContext) -> Bool {
        live.withLock { $0.authorization }.isAdmin(uid: context.peerUID, gid: context.peerGID)
    }

    /// Names of the adapters in use: the global set's, and those of queued and running jobs that named their own
    /// (neither may be removed or replaced).
    var activeNames: Set<String> {
        engine.adaptersInUse().union(pendingSetLorasNames.withLock { $0.calls.values.reduce(into: Set<String>()) { $0.formUnion($1) } })
    }
}

/// Why lorad could not start.
public enum DaemonStartError: Error, CustomStringConvertible {
    case demoMissing([String])
    case model(path: String, reason: String)
    case registry(reason: String)
    case socket(reason: String, errno: Int32)

    public var description: String {
        switch self {
        case let .demoMissing(paths):
            return "no model is configured and the embedded demo was not found (looked in \(paths.joined(separator: ", "))); set model.path in the configuration or pass --model DIR"
        case let .model(path, reason):
            return "cannot load the model at \(path): \(reason)"
        case let .registry(reason):
            return "cannot open the adapter registry: \(reason)"
        case let .socket(reason, _):
            return "cannot listen on the socket: \(reason)"
        }
    }

    /// The `ERRNO=` lorad reports to systemd for this failure (a missing file is ENOENT, and so on).
    public var errnoValue: Int32 {
        switch self {
        case .demoMissing:
            return ENOENT
        case let .model(path, _):
            if !FileManager.default.fileExists(atPath: path) { return ENOENT }
            return FileManager.default.isReadableFile(atPath: path) ? EINVAL : EACCES
        case .registry:
            return EIO
        case let .socket(_, code):
            return code
        }
    }
}
