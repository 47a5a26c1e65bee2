import Dispatch
import Logging
import LoraModel
import LoraNumerics
import Synchronization

/// The engine thread's state and its step: apply control operations → run the setLoras barrier → admit →
/// one forward pass over the ragged batch → sample → emit events → retire. Confined to the engine thread.
final class EngineLoop {
    private let engine: Engine
    private let model: LlamaModel
    private let logger: Logger
    private let cache: KVPagePool
    private let scratch = ForwardScratch()
    private var scheduler: Scheduler
    private var barrier = DrainBarrier()
    private var jobs: [JobID: Job] = [:]
    /// setLoras calls in line, by id, with their sets once built.
    private var calls: [UInt64: PendingCall] = [:]
    private var adapters: AdapterSet
    private var descriptions: [AdapterDescription]
    private var epoch: UInt64
    private var steps = 0
    private var generatedTokens = 0
    private var epochViolations = 0
    /// Jobs admitted or removed from the queue since the last status publish (the busy counter).
    private var leftQueue = 0
    /// The model's logits of the rows being sampled, one vocabulary per worker part, kept for their log-softmax.
    private var rawLogits: [Float] = []

    /// A setLoras call in line.
    private struct PendingCall {
        /// Where the call's set is: the one piece of build bookkeeping (a call whose build failed has left).
        enum SetState {
            case building
            case built(AdapterSet)
        }

        var request: DrainBarrier.Request
        var set: SetState
        var completion: Engine.SetLorasCompletion
    }

    /// The longest the idle thread sleeps in one wait while a deadline is pending. Deadlines are waited for in
    /// slices of at most this, relative to now: a far deadline (a timeout near 2^63 ns) given to libdispatch
    /// as an absolute uptime past 2^62 reads as a wall-clock time in the past, and the idle thread spun.
    static let longestWaitNanos: UInt64 = 3_600_000_000_000

    init(engine: Engine, adapters: AdapterSet, cache: KVPagePool) {
        self.engine = engine
        model = engine.model
        logger = engine.logger
        let c = engine.configuration
        self.cache = cache
        epoch = engine.initialEpoch
        scheduler = Scheduler(maxBatchSize: c.maxBatchSize, maxChunkTokens: c.maxChunkTokens, totalPages: c.pageCount)
        self.adapters = adapters
        descriptions = adapters.descriptions
    }

    private static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func run() {
        while true {
            for op in engine.takeOperations() {
                if case .shutdown = op {
                    stop()
                    publish()
                    return
                }
                apply(op)
            }
            runBarrier()
            let plan = scheduler.plan(holdFrom: barrier.holdFrom)
            admit(plan.admitted)
            if plan.chunks.isEmpty {
                publish()
                wait()
                continue
            }
            step(plan.chunks)
            publish()
        }
    }

    private func apply(_ op: Engine.ControlOp) {
        switch op {
        case .submit(let prepared):
            jobs[prepared.id] = Job(prepared, eosTokenIds: engine.eosTokenIds, tokenizer: engine.tokenizer)
            // A job with its own adapters does not depend on the global set: no barrier holds it or waits for it.
            scheduler.enqueue(id: prepared.id, promptLength: prepared.prompt.count, pages: prepared.pages, exempt: prepared.own != nil)
            if prepared.own == nil { barrier.jobSubmitted(prepared.id) }
        case .cancel(let id):
            finish(id, .cancelled)
        case .setLorasArrived(let call):
            calls[call.request.id] = PendingCall(request: call.request, set: call.set.map { .built($0) } ?? .building,
                                                 completion: call.completion)
            barrier.arrived(call.request)
            if call.set != nil { barrier.built(call.request.id) }
        case .probe(let answer):
            answer()
        case let .setLorasBuilt(id, result):
            // A call that timed out while building has already left the line: its set is dropped.
            guard calls[id] != nil else { return }
            switch result {
            case .success(let set):
                calls[id]?.set = .built(set)
                barrier.built(id)
            case .failure(let error):
                barrier.remove(id)
                complete(id, .failure(error))
            }
        case .shutdown:
            break
        }
    }

    /// Performs the barrier's actions until it has none.
    private func runBarrier() {
        while let action = barrier.poll(now: engine.clock()) {
            switch action {
            case let .fail(request, stillRunning, _):
                guard let call = calls[request] else { continue }
                let timeoutMs = Int((call.request.timeoutNanos ?? 0) / 1_000_000)
                logger.info("setLoras timed out; nothing changed", metadata: ["stillRunning": "\(stillRunning)", "epoch": "\(epoch)"])
                complete(request, .failure(EngineError.drainTimeout(stillRunning: stillRunning, timeoutMilliseconds: timeoutMs)))
            case let .commit(request, drained, waited):
                commit(request, cancelling: [], drained: drained, waitedNanos: waited)
            case let .cancelAndCommit(request, jobs, drained, waited):
                commit(request, cancelling: jobs, drained: drained, waitedNanos: waited)
            }
        }
    }

    /// Commits call `id`: the hook's durable write first, then (only if it succeeded) the cancellation of
    /// `cancelling`, then the swap. A failing hook changes nothing: no job is cancelled for a commit that
    /// does not happen.
    private func commit(_ id: UInt64, cancelling: [JobID], drained: Int, waitedNanos: UInt64) {
        guard let call = calls[id], case .built(let set) = call.set else {
            // The barrier commits only built calls; anything else is a bug: fail the call rather than crash.
            logger.error("setLoras commit without a built set", metadata: ["request": "\(id)"])
            complete(id, .failure(EngineError.commitFailed("internal error: the set was not built")))
            return
        }
        let newEpoch = epoch + 1
        let newDescriptions = set.descriptions
        if let hook = engine.commitHook {
            do {
                try hook(SetLorasCommit(epoch: newEpoch, adapters: newDescriptions, adapterSet: set))
            } catch {
                logger.error("setLoras commit hook failed; rolled back", metadata: ["error": "\(error)", "epoch": "\(epoch)"])
                complete(id, .failure(EngineError.commitFailed("\(error)")))
                return
            }
        }
        for job in cancelling { finish(job, .cancelled) }
        adapters = set
        descriptions = newDescriptions
        epoch = newEpoch
        logger.info("setLoras committed", metadata: [
            "epoch": "\(epoch)", "adapters": "\(descriptions.map { "\($0.name):\($0.scale)" })",
            "drained": "\(drained)", "cancelled": "\(cancelling.count)",
        ])
        complete(id, .success(SetLorasResult(
            epoch: epoch, adapters: descriptions, jobsDrained: drained, jobsCancelled: cancelling.count,
            waitedMilliseconds: Double(waitedNanos) / 1e6)))
    }

    /// Ends call `id` with `result`: it leaves the pending count (the one `status()` reports) and the status is
    /// published before its completion runs, so a caller that reads the status after it sees the outcome.
    private func complete(_ id: UInt64, _ result: Result<SetLorasResult, any Error>) {
        guard let call = calls.removeValue(forKey: id) else { return }
        engine.control.withLock { $0.pendingSetLoras -= 1 }
        publish()
        call.completion(result)
    }

    private func admit(_ ids: [JobID]) {
        let now = Self.now()
        for id in ids {
            // Moved out and back so the job's arrays stay uniquely referenced (no copy on write).
            guard var job = jobs.removeValue(forKey: id) else { continue }
            leftQueue += 1
            guard let pages = cache.allocate(job.prepared.pages) else {
                // The scheduler's page count and the pool disagree: a bug; end the job rather than crash.
                logger.error("KV pool out of pages at admission", metadata: ["job": "\(id)"])
                jobs[id] = job
                finish(id, .cancelled)
                continue
            }
            job.pages = pages
            job.admittedAt = now
            logger.debug("job started", metadata: [
                "job": "\(id)", "epoch": job.prepared.own == nil ? "\(epoch)" : "own adapters", "promptTokens": "\(job.prepared.prompt.count)",
            ])
            job.epoch = epoch
            job.adapters = descriptions
            jobs[id] = job
            job.prepared.sink(.started(id, epoch: epoch))
        }
    }

    /// One forward pass over `chunks`, then sampling, events and retirement.
    private func step(_ planned: [Scheduler.Chunk]) {
        // A job ended at admission (it cannot have pages) has no part in the batch; keep rows aligned.
        let (chunks, rowAdapters) = arrange(planned.filter { jobs[$0.id] != nil })
        guard !chunks.isEmpty else { return }
        var batch: [SequenceChunk] = []
        batch.reserveCapacity(chunks.count)
        for chunk in chunks {
            guard let job = jobs[chunk.id] else { continue }
            if job.prepared.own == nil && job.epoch != epoch { epochViolations += 1 }
            batch.append(SequenceChunk(tokens: job.tokens(chunk), pages: job.pages, cachedLength: chunk.start, logits: chunk.samples ? .last : .none))
        }
        let logits: Matrix
        do {
            logits = try model.forward(batch, cache: cache, scratch: scratch, adapters: rowAdapters)
        } catch {
            logger.error("forward pass failed; ending the step's jobs", metadata: ["error": "\(error)"])
            for chunk in chunks { finish(chunk.id, .cancelled) }
            return
        }
        steps += 1
        let now = Self.now()
        var picks: [Pick] = []
        var row = 0
        for chunk in chunks where chunk.samples {
            defer { row += 1 }
            // Moved out, not copied: the sampler's penalty counts stay uniquely owned, so `accept` updates
            // them in place.
            guard let job = jobs.removeValue(forKey: chunk.id) else { continue }
            picks.append(Pick(job: job, row: row))
        }
        sample(&picks, logits: logits)
        for i in picks.indices {
            emit(&picks[i].job, token: picks[i].token, logprob: picks[i].logprob, now: now)
        }
    }

    /// The step's chunks in batch order with each one's adapters. Without jobs of their own adapters, the plan
    /// as it is under the global set. With them, the chunks are grouped by set — the global set's first, then
    /// each own set in order of first appearance, stable within a group — so that each set's rows are one block
    /// of the batch (one part of each delta product, and at most two base products when the global set is
    /// merged). The order of rows changes no row's result.
    private func arrange(_ chunks: [Scheduler.Chunk]) -> ([Scheduler.Chunk], BatchAdapters) {
        let shared: (any ProjectionAdapter)? = adapters.isEmpty ? nil : adapters
        guard chunks.contains(where: { jobs[$0.id]?.prepared.own != nil }) else {
            return (chunks, BatchAdapters(shared: shared))
        }
        var own: [AdapterSet] = []
        var slotOfGroup: [UInt64: Int] = [:]
        var keyed: [(chunk: Scheduler.Chunk, set: Int?, index: Int)] = []
        for (index, chunk) in chunks.enumerated() {
            var slot: Int?
            if let mine = jobs[chunk.id]?.prepared.own {
                if let known = slotOfGroup[mine.group] {
                    slot = known
                } else {
                    slot = own.count
                    slotOfGroup[mine.group] = own.count
                    own.append(mine.set)
                }
            }
            keyed.append((chunk, slot, index))
        }
        keyed.sort { a, b in
            let ka = a.set.map { $0 + 1 } ?? 0, kb = b.set.map { $0 + 1 } ?? 0
            return ka != kb ? ka < kb : a.index < b.index
        }
        return (keyed.map(\.chunk), BatchAdapters(shared: shared, own: own, assignment: keyed.map(\.set)))
    }

    /// One sampled row: its job (taken out of `jobs`, so rows can be sampled in parallel), then its result.
    private struct Pick {
        var job: Job
        let row: Int
        var token: Int32 = 0
        var logprob: Float?
        var wantsLogprob: Bool { job.prepared.logprobs }
    }

    /// Samples every pick's row, spread over the cores: each job's sampler and logits row are its own, and with
    /// temperature a 49k vocabulary costs 0.4–1 ms a row, a large part of a batch-16 step on one thread.
    private func sample(_ picks: inout [Pick], logits: Matrix) {
        let vocab = model.config.vocabSize
        if picks.contains(where: \.wantsLogprob) {
            // One raw row per part: the log-softmax is of the model's logits, before penalties change them.
            if rawLogits.count < ParallelFor.workerCount * vocab {
                rawLogits = [Float](repeating: 0, count: ParallelFor.workerCount * vocab)
            }
        }
        rawLogits.withUnsafeMutableBufferPointer { raw in
            picks.withUnsafeMutableBufferPointer { buffer in
                let shared = UncheckedSendableBox((buffer, raw.baseAddress))
                ParallelFor.shared(count: buffer.count, grain: 1) { part, nextRange in
                    let (picks, rawBase) = shared.value
                    while let range = nextRange() {
                        for i in range {
                            let choices = UnsafeMutableBufferPointer(start: logits.row(picks[i].row), count: vocab)
                            guard picks[i].wantsLogprob, let scratch = rawBase.map({ $0 + part * vocab }) else {
                                picks[i].token = picks[i].job.sampler.choose(choices)
                                continue
                            }
                            if let source = choices.baseAddress { scratch.update(from: source, count: vocab) }
                            let token = picks[i].job.sampler.choose(choices)
                            picks[i].token = token
                            picks[i].logprob = Softmax.logProbability(of: Int(token), in: scratch, vocab)
                        }
                    }
                }
            }
        }
    }

    /// Records a sampled token, emits its delta, and retires the job when it stops.
    private func emit(_ job: inout Job, token: Int32, logprob: Float?, now: UInt64) {
        job.sampler.accept(token)
        job.generated.append(token)
        if job.firstTokenAt == nil { job.firstTokenAt = now }
        generatedTokens += 1
        let outcome = job.stopChecker.append(token)
        let sink = job.prepared.sink
        jobs[job.id] = job
        sink(.tokens(job.id, ids: [token], text: outcome.text, logprobs: logprob.map { [$0] }))
        if let reason = outcome.finish { finish(job.id, reason, stopString: outcome.stopString) }
    }

    /// Ends a job: frees its pages, tells the barrier, emits its finished event. Unknown ids are ignored.
    private func finish(_ id: JobID, _ reason: FinishReason, stopString: String? = nil) {
        guard let job = jobs.removeValue(forKey: id) else { return }
        switch scheduler.remove(id) {
        case .queued: leftQueue += 1
        case .running, .unknown: break
        }
        if !job.pages.isEmpty { cache.release(job.pages) }
        barrier.jobFinished(id)
        // Before the event, so a cancel after it reports an unknown job (and a removeAdapter after it succeeds).
        engine.jobEnded(id, own: job.prepared.own)
        logger.debug("job finished", metadata: ["job": "\(id)", "reason": "\(reason.rawValue)", "completionTokens": "\(job.generated.count)"])
        job.prepared.sink(.finished(id, job.summary(reason, stopString: stopString, now: Self.now(), currentEpoch: epoch, currentAdapters: descriptions)))
    }

    /// Shutdown: cancel every job, fail every pending setLoras.
    private func stop() {
        for id in jobs.keys.sorted() { finish(id, .cancelled) }
        for request in barrier.removeAll() { complete(request, .failure(EngineError.shutDown)) }
    }

    private func publish() {
        let status = EngineStatus(
            queuedJobs: scheduler.waiting.count, runningJobs: scheduler.running.count, freeKVPages: cache.freePageCount,
            totalKVPages: cache.pageCount, epoch: epoch, adapters: descriptions,
            steps: steps, generatedTokens: generatedTokens, epochViolations: epochViolations)
        let left = leftQueue
        leftQueue = 0
        engine.control.withLock { state in
            state.unadmitted -= left
            // `pendingSetLoras` is kept by `arrive` and `complete` and filled in by `status()`.
            state.status = status
        }
    }

    /// Sleeps until a control operation arrives or the barrier's deadline passes.
    private func wait() {
        if let deadline = barrier.deadline {
            _ = engine.wake.wait(timeout: .now() + .nanoseconds(Int(Self.waitSlice(deadline: deadline, now: engine.clock()))))
        } else {
            engine.wake.wait()
        }
        engine.wakeUps.add(1, ordering: .relaxed)
    }

    /// Nanoseconds to sleep towards `deadline` (on the setLoras clock) at `now`: what is left, at most
    /// `longestWaitNanos`, so the absolute time handed to libdispatch stays small whatever the deadline.
    static func waitSlice(deadline: UInt64, now: UInt64) -> UInt64 {
        min(deadline > now ? deadline - now : 0, longestWaitNanos)
    }
}
