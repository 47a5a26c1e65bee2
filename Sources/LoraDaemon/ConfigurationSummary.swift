/// The configuration in force, as `lorad --check-config` prints it: every setting with its value.
public enum ConfigurationSummary {
    public static func text(_ c: DaemonConfiguration) -> String {
        let e = c.engine
        let lines: [(String, String)] = [
            ("config file", c.configFile ?? "(none: embedded defaults)"),
            ("model.path", c.modelPath ?? "(none: the embedded demo)"),
            ("model.weights", c.weightPrecision == .asStored ? "as-stored" : "f32"),
            ("server.socket", c.socketPath),
            ("server.fd_name", c.fdName),
            ("server.socket_mode", "0" + String(c.socketMode, radix: 8)),
            ("server.max_message_bytes", "\(c.maxMessageBytes)"),
            ("server.max_connections", "\(c.maxConnections)"),
            ("server.max_queued_bytes_per_connection", "\(c.maxQueuedBytesPerConnection)"),
            ("state.directory", c.stateDirectory),
            ("engine.max_batch_size", "\(e.maxBatchSize)"),
            ("engine.kv_cache_tokens", "\(e.kvCacheTokens)"),
            ("engine.page_size", "\(e.pageSize)"),
            ("engine.max_chunk_tokens", "\(e.maxChunkTokens)"),
            ("engine.max_queued_jobs", "\(e.maxQueuedJobs)"),
            ("engine.lora_mode", e.loraMode.rawValue),
            ("engine.merge_budget_mb", "\(e.mergeBudgetBytes >> 20)"),
            ("engine.kv_cache_precision", e.kvCachePrecision.rawValue),
            ("engine.adapter_cache_mb", "\(e.adapterCacheBytes >> 20)"),
            ("engine.per_job_delta", e.perJobDeltaElement == .float16 ? "f16" : "f32"),
            ("access.admin_users", c.adminUsers.isEmpty ? "(root and lorad's own user only)" : c.adminUsers.joined(separator: ", ")),
            ("access.admin_groups", c.adminGroups.isEmpty ? "(none)" : c.adminGroups.joined(separator: ", ")),
            ("access.import_roots", c.importRoots.isEmpty ? "(any readable path)" : c.importRoots.joined(separator: ", ")),
            ("loras.default_timeout_ms", c.defaultSetLorasTimeoutMs.map { "\($0)" } ?? "(wait for ever)"),
            ("shutdown.grace_seconds", "\(c.shutdownGraceSeconds)"),
            ("log.level", c.logLevel.rawValue),
        ]
        return "configuration is valid\n" + lines.map { "  \($0.0) = \($0.1)" }.joined(separator: "\n")
    }
}

/// lorad's exit codes (documented in docs/operations.md).
public enum DaemonExit {
    /// A clean stop.
    public static let success: Int32 = 0
    /// Could not start for a reason other than the configuration (model, registry, socket).
    public static let startFailure: Int32 = 1
    /// The configuration is invalid (EX_CONFIG): `RestartPreventExitStatus=78` keeps systemd from looping.
    public static let configuration: Int32 = 78
}
