import Foundation
import Logging
import LoraModel
import TOMLKit

/// Reads lorad's TOML configuration file onto a `DaemonConfiguration`. Every key is checked: an unknown key
/// or a value of the wrong type is an error naming the key, so a typo never silently leaves a default.
enum ConfigurationFile {
    /// Applies the file at `path` to `base`.
    static func apply(path: String, to base: DaemonConfiguration) throws -> DaemonConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        var config = try apply(text: text, source: path, to: base)
        config.configFile = path
        return config
    }

    /// Applies TOML `text` (named `source` in errors) to `base`.
    static func apply(text: String, source: String, to base: DaemonConfiguration) throws -> DaemonConfiguration {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError.syntax(path: source, line: error.source.begin.line, column: error.source.begin.column, message: error.description)
        } catch {
            throw ConfigurationError.syntax(path: source, line: 0, column: 0, message: "\(error)")
        }
        var c = base
        var root = TOMLSection(table: table, path: "")
        try root.section("model") { s in
            if let path = try s.string("path") { c.modelPath = path }
            if let w = try s.string("weights") {
                switch w {
                case "as-stored": c.weightPrecision = .asStored
                case "f32": c.weightPrecision = .float32
                default: throw s.invalid("weights", "must be \"as-stored\" or \"f32\", got \"\(w)\"")
                }
            }
        }
        try root.section("server") { s in
            if let v = try s.string("socket") { c.socketPath = v }
            if let v = try s.string("fd_name") { c.fdName = v }
            if let v = try s.string("socket_mode") {
                guard let mode = UInt32(v, radix: 8), mode <= 0o777 else { throw s.invalid("socket_mode", "must be an octal permission such as \"0660\", got \"\(v)\"") }
                c.socketMode = mode
            }
            if let v = try s.int("max_message_bytes") { c.maxMessageBytes = v }
            if let v = try s.int("max_connections") { c.maxConnections = v }
            if let v = try s.int("max_queued_bytes_per_connection") { c.maxQueuedBytesPerConnection = v }
        }
        try root.section("state") { s in
            if let v = try s.string("directory") { c.stateDirectory = v }
        }
        try root.section("engine") { s in
            if let v = try s.int("max_batch_size") { c.engine.maxBatchSize = v }
            if let v = try s.int("kv_cache_tokens") { c.engine.kvCacheTokens = v }
            if let v = try s.int("page_size") { c.engine.pageSize = v }
            if let v = try s.int("max_chunk_tokens") { c.engine.maxChunkTokens = v }
            if let v = try s.int("max_queued_jobs") { c.engine.maxQueuedJobs = v }
            if let v = try s.string("lora_mode") {
                guard let mode = AdapterSet.Mode(rawValue: v) else { throw s.invalid("lora_mode", "must be \"auto\", \"merged\" or \"unmerged\", got \"\(v)\"") }
                c.engine.loraMode = mode
            }
            if let v = try s.int("merge_budget_mb") {
                guard v >= 0, v <= Int.max >> 20 else { throw s.invalid("merge_budget_mb", "must be 0 or more, got \(v)") }
                c.engine.mergeBudgetBytes = v << 20
            }
            if let v = try s.int("adapter_cache_mb") {
                guard v >= 1, v <= Int.max >> 20 else { throw s.invalid("adapter_cache_mb", "must be 1 or more, got \(v)") }
                c.engine.adapterCacheBytes = v << 20
            }
            if let v = try s.string("per_job_delta") {
                switch v {
                case "f32": c.engine.perJobDeltaElement = .float32
                case "f16": c.engine.perJobDeltaElement = .float16
                default: throw s.invalid("per_job_delta", "must be \"f32\" or \"f16\", got \"\(v)\"")
                }
            }
            if let v = try s.string("kv_cache_precision") {
                guard let p = KVCachePrecision(rawValue: v) else { throw s.invalid("kv_cache_precision", "must be \"f32\" or \"f16\", got \"\(v)\"") }
                c.engine.kvCachePrecision = p
            }
        }
        try root.section("access") { s in
            if let v = try s.names("admin_users") { c.adminUsers = v }
            if let v = try s.names("admin_groups") { c.adminGroups = v }
            if let v = try s.strings("import_roots") { c.importRoots = v }
        }
        try root.section("loras") { s in
            if let v = try s.int("default_timeout_ms") { c.defaultSetLorasTimeoutMs = v }
        }
        try root.section("shutdown") { s in
            if let v = try s.double("grace_seconds") { c.shutdownGraceSeconds = v }
        }
        try root.section("log") { s in
            if let v = try s.string("level") {
                guard let level = Logger.Level(rawValue: v) else {
                    throw s.invalid("level", "must be one of \(Logger.Level.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got \"\(v)\"")
                }
                c.logLevel = level
            }
        }
        try root.finish()
        return c
    }
}

/// One table of the file, with the keys read so far, so that `finish()` can refuse the rest.
struct TOMLSection {
    let table: TOMLTable
    let path: String
    private var used: Set<String> = []

    init(table: TOMLTable, path: String) {
        self.table = table
        self.path = path
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func invalid(_ name: String, _ message: String) -> ConfigurationError { .invalid(key: key(name), message: message) }

    /// Reads the sub-table `name` with `body`, if present, and checks it has no unknown keys.
    mutating func section(_ name: String, _ body: (inout TOMLSection) throws -> Void) throws {
        used.insert(name)
        guard let value = table[name] else { return }
        guard let sub = value.table else { throw invalid(name, "must be a table ([\(key(name))])") }
        var section = TOMLSection(table: sub, path: key(name))
        try body(&section)
        try section.finish()
    }

    private mutating func value(_ name: String) -> TOMLValueConvertible? {
        used.insert(name)
        return table[name]
    }

    mutating func string(_ name: String) throws -> String? {
        guard let v = value(name) else { return nil }
        guard let s = v.string else { throw invalid(name, "must be a string") }
        return s
    }

    mutating func int(_ name: String) throws -> Int? {
        guard let v = value(name) else { return nil }
        guard let i = v.int else { throw invalid(name, "must be an integer") }
        return i
    }

    mutating func double(_ name: String) throws -> Double? {
        guard let v = value(name) else { return nil }
        if let d = v.double { return d }
        if let i = v.int { return Double(i) }
        throw invalid(name, "must be a number")
    }

    mutating func strings(_ name: String) throws -> [String]? {
        guard let v = value(name) else { return nil }
        guard let array = v.array else { throw invalid(name, "must be an array of strings") }
        return try array.map { element in
            guard let s = element.string else { throw invalid(name, "must be an array of strings") }
            return s
        }
    }

    /// An array of user or group names, where numeric ids may be written as integers.
    mutating func names(_ name: String) throws -> [String]? {
        guard let v = value(name) else { return nil }
        guard let array = v.array else { throw invalid(name, "must be an array of names or numeric ids") }
        return try array.map { element in
            if let s = element.string { return s }
            if let i = element.int, i >= 0 { return String(i) }
            throw invalid(name, "must be an array of names or numeric ids")
        }
    }

    /// Refuses keys nobody read.
    func finish() throws {
        for k in table.keys where !used.contains(k) { throw ConfigurationError.unknownKey(key(k)) }
    }
}
