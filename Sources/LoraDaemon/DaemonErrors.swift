import LoraEngine
import LoraJSON
import LoraRegistry

/// The one place where engine and registry errors become what a client sees (docs/api.md, "Errors").
enum DaemonErrors {
    /// `error` as a `DaemonError` or `InvalidParams`; anything unforeseen is returned as it is (an internal error).
    static func map(_ error: any Error) -> any Error {
        switch error {
        case is DaemonError, is InvalidParams: return error
        case let e as EngineError: return map(e)
        case let e as RegistryError: return map(e)
        default: return error
        }
    }

    static func map(_ e: EngineError) -> any Error {
        let message = e.description
        switch e {
        case let .busy(queued, limit):
            return DaemonError(.busy, message, details: [("queued", .int(queued)), ("limit", .int(limit))])
        case let .promptTooLong(prompt, maxNew, needed, cache):
            return DaemonError(.promptTooLong, message, details: [("promptTokens", .int(prompt)), ("maxTokens", .int(maxNew)),
                                                                   ("neededPositions", .int(needed)), ("cachePositions", .int(cache))])
        case let .contextExceeded(prompt, maxPositions):
            return DaemonError(.promptTooLong, message, details: [("promptTokens", .int(prompt)), ("maxPositions", .int(maxPositions))])
        case let .requestTooLarge(limit, size, max):
            return DaemonError(.promptTooLong, message, details: [("limit", .string(limit.rawValue)), ("size", .int(size)), ("max", .int(max))])
        case let .adapterCacheFull(needed, inUse, limit):
            var details: [(String, JSONValue)] = [("inUseBytes", .int(inUse)), ("limitBytes", .int(limit))]
            if let needed { details.append(("neededBytes", .int(needed))) }
            return DaemonError(.busy, message, details: details)
        case .invalidRequest, .noTokenizer:
            return InvalidParams(message)
        case let .drainTimeout(running, timeout):
            // The engine's text names the error itself; the client sees the name in data.name.
            let text = message.hasPrefix("DrainTimeout: ") ? String(message.dropFirst("DrainTimeout: ".count)) : message
            return DaemonError(.drainTimeout, text, details: [("stillRunning", .int(running)), ("timeoutMs", .int(timeout))])
        case .invalidAdapterSet:
            return DaemonError(.adapterInvalid, message)
        case .commitFailed:
            return DaemonError(.commitFailed, message)
        case .shutDown:
            return DaemonError(.shuttingDown, "lorad is shutting down; retry once it has restarted")
        default:
            return e
        }
    }

    static func map(_ e: RegistryError) -> any Error {
        let message = e.description
        switch e {
        case let .adapterNotFound(name): return DaemonError(.adapterNotFound, message, details: [("adapter", .string(name))])
        case let .adapterExists(name): return DaemonError(.adapterExists, message, details: [("adapter", .string(name))])
        case let .adapterActive(name): return DaemonError(.adapterActive, message, details: [("adapter", .string(name))])
        case let .adapterInvalid(name, _): return DaemonError(.adapterInvalid, message, details: [("adapter", .string(name))])
        case let .invalidSource(path, _): return DaemonError(.adapterInvalid, message, details: [("path", .string(path))])
        case let .incompatible(name, _): return DaemonError(.adapterIncompatible, message, details: [("adapter", .string(name))])
        case let .broken(name, _): return DaemonError(.adapterBroken, message, details: [("adapter", .string(name))])
        case .invalidName: return InvalidParams(message)
        default: return e
        }
    }
}
