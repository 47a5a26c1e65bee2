import Dispatch
import Foundation
@testable import LoraEngine
import LoraEngineTestSupport
import LoraModel
import LoraNumerics
import Synchronization
import Testing

/// Jobs with their own adapters and the setLoras line, the adapter set cache and the adapters in use, on the
/// random model without fixtures and without sleeps: builds wait on gates, and actions that must happen while
/// a job runs are taken by its sink on the engine thread.
@Suite struct PerJobBarrierTests {
    static func own(_ engine: Engine, _ name: String, seed: UInt64, scale: Float = 1) throws -> [AdapterSet.Entry] {
        [AdapterSet.Entry(adapter: try RandomEngine.adapter(name, seed: seed), scale: scale)]
    }

    static func job(_ tokens: Int, loras: [AdapterSet.Entry]?) -> GenerationRequest {
        var r = RandomEngine.job(tokens)
        r.loras = loras
        return r
    }

    @Test func aPendingSetLorasHoldsGlobalJobsButNotJobsWithTheirOwnAdapters() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let blue = try Self.own(engine, "blue", seed: 9)
        let gate = Gate(), outcome = Outcome()
        engine.setLoras(building: { gate.wait(); return red }, timeout: nil, onTimeout: .abort, completion: outcome.completion)
        let log = EventLog()
        let held = try engine.submit(RandomEngine.job(6), sink: log.sink)
        let free = try engine.submit(Self.job(6, loras: blue), sink: log.sink)
        let base = try engine.submit(Self.job(6, loras: []), sink: log.sink)
        #expect(log.waitFinished(2), "the jobs with their own adapters ran while the call was still building")
        #expect(log[free]?.summary?.finishReason == .length && log[base]?.summary?.finishReason == .length)
        #expect(log[held]?.startedEpoch == nil, "the global job is still held")
        #expect(engine.status().pendingSetLoras == 1)
        #expect(log[free]?.summary?.globalEpoch == nil)
        #expect(log[free]?.summary?.adapters == [AdapterDescription(name: "blue", scale: 1)])
        #expect(log[base]?.summary?.adapters == [] && log[base]?.summary?.globalEpoch == nil)
        gate.open()
        #expect(try #require(outcome.wait()).get().epoch == 1)
        #expect(log.waitFinished(1))
        #expect(log[held]?.startedEpoch == 1 && log[held]?.summary?.globalEpoch == 1)
        // Each ran under its own set: the same tokens as the same job alone under that set as the global one.
        let alone = try RandomEngine.engine()
        defer { alone.shutdown() }
        #expect(log[base]?.tokens == (try runOne(alone, RandomEngine.job(6))).tokens)
        _ = try alone.setLoras(prebuilt: try alone.buildSet(blue))
        #expect(log[free]?.tokens == (try runOne(alone, RandomEngine.job(6))).tokens)
        #expect(log[free]?.tokens != log[base]?.tokens, "the adapter changes the tokens, so the comparison means something")
    }

    @Test func setLorasDoesNotWaitForJobsWithTheirOwnAdapters() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        let red = try RandomEngine.set(engine, "red", seed: 7)
        let outcome = Outcome()
        let tokensAtCommit = Mutex<Int?>(nil)
        let log = Mutex<EventLog?>(nil)
        // The long job's first token calls setLoras; its completion notes how far the job had got.
        let first = Atomic<Bool>(false)
        let events = EventLog { event in
            guard case .tokens = event, !first.exchange(true, ordering: .sequentiallyConsistent) else { return }
            engine.setLoras(prebuilt: red, timeout: nil, onTimeout: .abort) { result in
                tokensAtCommit.withLock { $0 = log.withLock { $0 }?.records.withLock { $0.values.first?.tokens.count } }
                outcome.completion(result)
            }
        }
        log.withLock { $0 = events }
        let long = try engine.submit(Self.job(200, loras: try Self.own(engine, "blue", seed: 9)), sink: events.sink)
        let result = try #require(outcome.wait()).get()
        #expect(result.epoch == 1 && result.jobsDrained == 0 && result.jobsCancelled == 0)
        let atCommit = try #require(tokensAtCommit.withLock { $0 })
        #expect(atCommit < 200, "committed while the job with its own adapters was running")
        #expect(events.waitFinished(1))
        #expect(events[long]?.summary?.finishReason == .length && events[long]?.tokens.count == 200)
        #expect(events[long]?.summary?.globalEpoch == nil)
    }

    @Test func adaptersInUseNameTheGlobalSetAndLiveJobsOwnAdapters() throws {
        let engine = try RandomEngine.engine()
        defer { engine.shutdown() }
        #expect(engine.adaptersInUse().isEmpty)
        _ = try engine.setLoras(prebuilt: try RandomEngine.set(engine, "red", seed: 7))
        #expect(engine.adaptersInUse() == ["red"])
        let blue = try Self.own(engine, "blue", seed: 9)
        // What the adapters in use were while the job ran (read from its sink, on the engine thread).
        let seen = Mutex<Set<String>>([])
        let recorder = EventLog { [engine] event in
            if case .tokens = event { seen.withLock { $0 = engine.adaptersInUse() } }
        }
        _ = try runOne(engine, Self.job(2, loras: blue))
        let id = try engine.submit(Self.job(2, loras: blue + (try Self.own(engine, "green", seed: 11))), sink: recorder.sink)
        #expect(recorder.waitFinished(1))
        #expect(seen.withLock { $0 } == ["red", "blue", "green"], "while the job ran")
        #expect(recorder[id]?.summary?.adapters.map(\.name) == ["blue", "green"])
        #expect(engine.adaptersInUse() == ["red"], "after it finished")
    }

    @Test func theCacheSharesSetsByContentAndEvictsUnusedOnesFirst() throws {
        let model = try RandomEngine.model.get()
        let red = try RandomEngine.adapter("red", seed: 7), blue = try RandomEngine.adapter("blue", seed: 9)
        let one = try AdapterSet([.init(adapter: red, scale: 1)], model: model, mode: .unmerged).extraBytes
        let cache = AdapterSetCache(limit: 2 * one + one / 2)
        func set(_ adapter: LoraAdapter, _ scale: Float, key: String? = nil) -> [AdapterSet.Entry] {
            [AdapterSet.Entry(adapter: adapter, scale: scale, contentKey: key)]
        }
        func acquire(_ entries: [AdapterSet.Entry]) throws -> AdapterSetCache.Lease {
            try cache.acquire(AdapterSetKey(entries)) { try AdapterSet(entries, model: model, mode: .unmerged) }
        }
        let a = try acquire(set(red, 1))
        let renamed = LoraAdapter(name: "crimson", config: red.config, modules: red.modules)
        let again = try acquire(set(renamed, 1))
        #expect(again.serial == a.serial, "a renamed view of the same weights is the same content")
        #expect(cache.status().builds == 1 && cache.status().hits == 1)
        let b = try acquire(set(blue, 1))
        #expect(b.serial != a.serial)
        cache.release(a.key)
        cache.release(again.key)
        // red×1 is unused now: it goes first to make room; blue×1 is in use and stays.
        let c = try acquire(set(red, 0.5))
        var s = cache.status()
        #expect(s.entries == 2 && s.evictions == 1 && s.entriesInUse == 2 && s.bytes <= s.limitBytes, "\(s)")
        #expect(try acquire(set(blue, 1)).serial == b.serial, "blue×1 was kept")
        // Both cached sets are in use and there is no room for a third: refused, nothing changes.
        #expect(throws: EngineError.self) { _ = try acquire(set(blue, 2)) }
        s = cache.status()
        #expect(s.entries == 2 && s.evictions == 1)
        // A caller's content key identifies the content: a different adapter object with the same key shares.
        cache.release(c.key)
        let keyed = try acquire(set(red, 3, key: "sha256:abc"))
        let other = try RandomEngine.adapter("red", seed: 7)
        #expect(try acquire(set(other, 3, key: "sha256:abc")).serial == keyed.serial)
    }

    @Test func theEngineReportsItsCacheAndRefusesSetsThatCannotFit() throws {
        let model = try RandomEngine.model.get()
        let red = try RandomEngine.adapter("red", seed: 7)
        let one = try AdapterSet([.init(adapter: red, scale: 1)], model: model, mode: .unmerged).extraBytes
        let engine = try RandomEngine.engine(EngineConfiguration(kvCacheTokens: 4096, adapterCacheBytes: one + one / 2))
        defer { engine.shutdown() }
        #expect(engine.status().adapterCache.limitBytes == one + one / 2)
        _ = try runOne(engine, Self.job(2, loras: [.init(adapter: red, scale: 1)]))
        var cache = engine.status().adapterCache
        #expect(cache.entries == 1 && cache.bytes == one && cache.entriesInUse == 0)
        _ = try runOne(engine, Self.job(2, loras: [.init(adapter: red, scale: 2)]))
        cache = engine.status().adapterCache
        #expect(cache.entries == 1 && cache.evictions == 1 && cache.builds == 2, "the unused set made room")
        let small = try RandomEngine.engine(EngineConfiguration(kvCacheTokens: 4096, adapterCacheBytes: one / 2))
        defer { small.shutdown() }
        #expect("a set larger than the whole cache", performing: { try small.submit(Self.job(2, loras: [.init(adapter: red, scale: 1)])) { _ in } },
                throws: { error in
                    guard case .adapterCacheFull(let needed, 0, let limit)? = error as? EngineError else { return false }
                    return needed == one && limit == one / 2 && "\(error)".contains("raise adapterCacheBytes")
                })
        #expect(small.status().queuedJobs == 0 && small.status().adapterCache.entries == 0)
        #expect(throws: EngineError.self, "a scale that is not finite") {
            try engine.submit(Self.job(2, loras: [.init(adapter: red, scale: .infinity)])) { _ in }
        }
    }

    /// An unmerged set with f16 panels (`deltaElement`, what `lorad-bench lora --per-job` measures beside f32):
    /// fewer bytes, logits near the f32 set's but not equal to them.
    @Test func sixteenBitDeltaPanelsHoldFewerBytesAndStayClose() throws {
        let model = try RandomEngine.model.get()
        let entries = [AdapterSet.Entry(adapter: try RandomEngine.adapter("red", seed: 7), scale: 1)]
        let exact = try AdapterSet(entries, model: model, mode: .unmerged)
        let half = try AdapterSet(entries, model: model, mode: .unmerged, deltaElement: .float16)
        #expect(half.extraBytes * 2 == exact.extraBytes)
        #expect(try AdapterSet(entries, model: model, mode: .merged, deltaElement: .float16).extraBytes
                == AdapterSet(entries, model: model, mode: .merged).extraBytes, "merged sets ignore it")
        let cache = KVPagePool(config: model.config, pageSize: 16, tokens: 64)
        func logits(_ set: AdapterSet) throws -> [Float] {
            let m = try model.forward([SequenceChunk(tokens: [1, 5, 9, 13], pages: [0], cachedLength: 0)], cache: cache,
                                      scratch: ForwardScratch(), adapters: set)
            return Array(UnsafeBufferPointer(start: m.pointer, count: m.cols))
        }
        let a = try logits(exact), b = try logits(half)
        #expect(a != b)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-2 * max(1, abs($0)) })
        // The engine builds jobs' own sets in it when configured to.
        let engine = try RandomEngine.engine(EngineConfiguration(kvCacheTokens: 4096, perJobDeltaElement: .float16))
        defer { engine.shutdown() }
        _ = try runOne(engine, Self.job(2, loras: entries))
        #expect(engine.status().adapterCache.bytes == half.extraBytes)
    }

    /// The forward pass with sets in any order (the engine groups them; other callers need not): every row's
    /// logits equal those of its sequence alone under its set, with a merged shared set.
    @Test func interleavedRowsGetTheirOwnSetsBitForBit() throws {
        let model = try RandomEngine.model.get()
        let red = try RandomEngine.adapter("red", seed: 7), blue = try RandomEngine.adapter("blue", seed: 9)
        let shared = try AdapterSet([.init(adapter: red, scale: 1)], model: model, mode: .merged)
        let ownBlue = try AdapterSet([.init(adapter: blue, scale: 0.5)], model: model, mode: .unmerged)
        let ownBoth = try AdapterSet([.init(adapter: red, scale: -1), .init(adapter: blue, scale: 1)], model: model, mode: .unmerged)
        let prompts: [[Int32]] = [[1, 5, 9], [3, 4, 5, 6, 7, 8, 9, 10, 11], [2], [7, 7, 7, 7], [1, 2, 3, 4, 5]]
        let assignment: [Int?] = [0, nil, 1, 0, nil]
        let sets: [AdapterSet] = [ownBlue, ownBoth]
        func run(_ chunks: [[Int32]], adapters: BatchAdapters) throws -> Matrix {
            let cache = KVPagePool(config: model.config, pageSize: 16, tokens: 256)
            var next: Int32 = 0
            let batch = chunks.map { tokens -> SequenceChunk in
                defer { next += 1 }
                return SequenceChunk(tokens: tokens, pages: [next], cachedLength: 0, logits: .all)
            }
            return try model.forward(batch, cache: cache, scratch: ForwardScratch(), adapters: adapters)
        }
        let together = try run(prompts, adapters: BatchAdapters(shared: shared, own: sets, assignment: assignment))
        var row = 0
        for (s, prompt) in prompts.enumerated() {
            let alone = try run([prompt], adapters: BatchAdapters(shared: assignment[s].map { sets[$0] } ?? shared))
            for r in 0..<prompt.count {
                let a = Array(UnsafeBufferPointer(start: together.row(row + r), count: model.config.vocabSize))
                let b = Array(UnsafeBufferPointer(start: alone.row(r), count: model.config.vocabSize))
                #expect(a == b, "sequence \(s) position \(r)")
            }
            row += prompt.count
        }
        #expect(throws: ForwardError.self) {
            _ = try run(prompts, adapters: BatchAdapters(shared: nil, own: [shared], assignment: [0, nil, nil, nil, nil]))
        }
        #expect(throws: ForwardError.self) { _ = try run(prompts, adapters: BatchAdapters(own: sets, assignment: [0])) }
    }
}
