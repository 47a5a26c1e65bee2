import Dispatch
import Foundation
import LoraEngine
import LoraJSON
import LoraModel

extension Daemon {
    /// `getLoras`: the set in force and its epoch.
    func getLoras(_ params: JSONValue, _ context: any CallContext) {
        let status = engine.status()
        context.reply(.success(LorasView.json(epoch: status.epoch, adapters: status.adapters)))
    }

    /// `setLoras {adapters, timeoutMs?, onTimeout?}`: the transaction of DESIGN.md §4. Calls reach the engine in
    /// the order they arrived; `timeoutMs` counts from the arrival; the registry records the commit before the
    /// reply.
    func setLoras(_ params: JSONValue, _ context: any CallContext) {
        let requested: [(name: String, scale: Float)]
        do {
            requested = try Self.parseEntries(params["adapters"], parameter: "adapters")
        } catch {
            return context.reply(.failure(error))
        }
        let timeoutMs: Int? = params["timeoutMs"].map { $0.numberValue?.int } ?? live.withLock { $0.configuration.defaultSetLorasTimeoutMs }
        let onTimeout = params["onTimeout"]?.stringValue.flatMap(OnTimeout.init(rawValue:)) ?? .abort
        let engine = self.engine
        let loaded = self.loaded
        let arrival = DispatchTime.now().uptimeNanoseconds
        let names = Set(requested.map(\.name))
        let token = pendingSetLorasNames.withLock { pending -> UInt64 in
            pending.next += 1
            pending.calls[pending.next] = names
            return pending.next
        }
        // Through the submit queue, so that it reaches the engine after the generate requests that came before it.
        // There it joins the engine's line: jobs submitted from then on wait for it, and the timeout (counted from
        // the arrival on the socket) covers loading the adapters' files, building the set, waiting behind earlier
        // calls and draining.
        submitQueue.async { [self] in
            let elapsedMs = Int((DispatchTime.now().uptimeNanoseconds - arrival) / 1_000_000)
            engine.setLoras(
                building: {
                    let entries = try requested.map { try loaded.entry(named: $0.name, scale: $0.scale) }
                    return try engine.buildSet(entries)
                },
                timeout: timeoutMs.map { Duration.milliseconds(max(0, $0 - elapsedMs)) }, onTimeout: onTimeout
            ) { [self] result in
                pendingSetLorasNames.withLock { _ = $0.calls.removeValue(forKey: token) }
                switch result {
                case .success(let r):
                    logger.info("adapter set committed", metadata: ["epoch": "\(r.epoch)", "adapter": "\(r.adapters.map(\.name))",
                                                                    "peer_uid": "\(context.peerUID)"])
                    var fields = LorasView.json(epoch: r.epoch, adapters: r.adapters).objectValue ?? []
                    fields += [("drainedJobs", .int(r.jobsDrained)), ("cancelledJobs", .int(r.jobsCancelled)),
                               ("waitedMs", .double(r.waitedMilliseconds.rounded(toPlaces: 3)))]
                    context.reply(.success(.object(fields)))
                case .failure(var error):
                    // The engine counted what was left of the timeout; the client gave the whole of it.
                    if case EngineError.drainTimeout(let running, _)? = error as? EngineError, let timeoutMs {
                        error = EngineError.drainTimeout(stillRunning: running, timeoutMilliseconds: timeoutMs)
                    }
                    logger.notice("setLoras failed: \(error)", metadata: ["peer_uid": "\(context.peerUID)"])
                    context.reply(.failure(DaemonErrors.map(error)))
                }
            }
        }
    }

    /// `adapters` (setLoras) or `loras` (generate): null, or a list of `{name, scale?}` with each name at most once.
    static func parseEntries(_ value: JSONValue?, parameter: String) throws -> [(name: String, scale: Float)] {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else { throw InvalidParams("\(parameter) must be null or an array of {name, scale}, got \(value.kindDescription)") }
        var seen: Set<String> = []
        return try items.enumerated().map { index, item in
            guard let members = item.objectValue else { throw InvalidParams("\(parameter)[\(index)] must be an object {name, scale}, got \(item.kindDescription)") }
            if let extra = members.first(where: { $0.0 != "name" && $0.0 != "scale" }) {
                throw InvalidParams("\(parameter)[\(index)] has an unknown member \(extra.0); an entry is {name, scale}")
            }
            guard let name = item["name"]?.stringValue else { throw InvalidParams("\(parameter)[\(index)].name must be a string") }
            let scale: Float
            if let s = item["scale"] {
                guard let d = s.numberValue?.double, d.isFinite, let f = Float(exactly: Float(d)), f.isFinite else {
                    throw InvalidParams("\(parameter)[\(index)].scale must be a finite number, got \(s.numberValue?.text ?? s.kindDescription)")
                }
                scale = f
            } else {
                scale = 1
            }
            guard seen.insert(name).inserted else {
                throw InvalidParams("\(parameter) names \(name) twice; give it once, with the sum of the scales")
            }
            return (name, scale)
        }
    }
}
