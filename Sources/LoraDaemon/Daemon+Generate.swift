import Foundation
import LoraEngine
import LoraJSON

extension Daemon {
    /// `generate`: submits a job; answers when it ends, or at once with `{jobId}` and then notifications when
    /// `stream` is true. A connection that closes cancels the jobs it submitted.
    func generate(_ params: JSONValue, _ context: any CallContext) {
        guard !stopping.load(ordering: .relaxed) else {
            return context.reply(.failure(DaemonError(.shuttingDown, "lorad is shutting down and takes no new jobs; retry once it has restarted")))
        }
        let parsed: GenerateParameters
        do {
            parsed = try GenerateParameters(params, defaults: engine.defaultSampling)
        } catch {
            return context.reply(.failure(error))
        }
        if parsed.stream && context.inBatch {
            return context.reply(.failure(InvalidParams(
                "stream: true cannot be used inside a batch (a batch's replies are sent together, after the stream would have begun); send it as a request of its own")))
        }
        submitQueue.async { [self] in
            var parsed = parsed
            if let own = parsed.ownAdapters {
                do {
                    parsed.request.loras = try own.map { try loaded.entry(named: $0.name, scale: $0.scale) }
                } catch {
                    return context.reply(.failure(DaemonErrors.map(error)))
                }
            }
            submit(parsed, context)
        }
    }

    /// Submits a parsed `generate` to the engine and tracks its job.
    private func submit(_ parsed: GenerateParameters, _ context: any CallContext) {
        let engine = self.engine
        let call = GenerateCall(context: context, stream: parsed.stream, logprobs: parsed.request.logprobs, tracker: jobs,
                                cancel: { engine.cancel($0) })
        let id: JobID
        do {
            id = try engine.submit(parsed.request, sink: { call.receive($0) })
        } catch {
            return context.reply(.failure(DaemonErrors.map(error)))
        }
        let promptTokens: Int
        if case .tokens(let t) = parsed.request.prompt { promptTokens = t.count } else { promptTokens = 0 }
        call.submitted(id, entry: JobTracker.Entry(id: id, ownerUID: context.peerUID, connection: context.connectionID, stream: parsed.stream,
                                                   promptTokens: promptTokens, submittedAt: Date(),
                                                   ownAdapters: parsed.request.loras.map { $0.map { AdapterDescription(name: $0.adapter.name, scale: $0.scale) } }))
        watchConnection(context)
        // Closed while the job was being submitted: the close already swept the connection's jobs.
        if !context.isConnectionOpen { engine.cancel(id) }
        logger.debug("job submitted", metadata: ["job_id": "\(id)", "peer_uid": "\(context.peerUID)", "stream": "\(parsed.stream)"])
    }

    /// Cancels a connection's jobs when it closes: one callback per connection, however many jobs it submits.
    func watchConnection(_ context: any CallContext) {
        let connection = context.connectionID
        guard watchedConnections.withLock({ $0.insert(connection).inserted }) else { return }
        context.onClose { [self] in
            watchedConnections.withLock { _ = $0.remove(connection) }
            for id in jobs.jobs(ofConnection: connection) { engine.cancel(id) }
        }
    }

    /// `cancel {jobId}`: one's own jobs, or anyone's for an admin.
    func cancel(_ params: JSONValue, _ context: any CallContext) {
        guard let id = params["jobId"]?.numberValue?.uint64 else { return context.reply(.failure(InvalidParams("jobId must be a job id"))) }
        guard let entry = jobs.entry(id) else {
            return context.reply(.failure(DaemonError(.jobNotFound, "no queued or running job has id \(id) (it may have finished already); listJobs shows the live ones",
                                                      details: [("jobId", .uint64(id))])))
        }
        guard entry.ownerUID == context.peerUID || isAdmin(context) else {
            return context.reply(.failure(DaemonError(.permissionDenied, "job \(id) belongs to uid \(entry.ownerUID); only its owner or an admin may cancel it",
                                                      details: [("jobId", .uint64(id))])))
        }
        let cancelled = engine.cancel(id)
        logger.info("job cancelled by a client", metadata: ["job_id": "\(id)", "peer_uid": "\(context.peerUID)"])
        context.reply(.success(["jobId": .uint64(id), "cancelled": .bool(cancelled)]))
    }

    /// `listJobs`: every queued and running job, oldest first.
    func listJobs(_ params: JSONValue, _ context: any CallContext) {
        let formatter = ISO8601DateFormatter()
        let list: [JSONValue] = jobs.list().map { e in
            var fields: [(String, JSONValue)] = [
                ("jobId", .uint64(e.id)), ("state", .string(e.state.rawValue)), ("ownerUid", .int(Int(e.ownerUID))),
                ("stream", .bool(e.stream)), ("completionTokens", .int(e.completionTokens)),
                ("submittedAt", .string(formatter.string(from: e.submittedAt))),
            ]
            if let epoch = e.epoch { fields.append(("epoch", .uint64(epoch))) }
            if let own = e.ownAdapters { fields.append(("loras", LorasView.json(epoch: nil, adapters: own))) }
            return .object(fields)
        }
        context.reply(.success(["jobs": .array(list)]))
    }
}
