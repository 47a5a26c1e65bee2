import Dispatch
import Foundation
import LoraEngine
import LoraEngineTestSupport
import LoraModel
import Synchronization
import Testing

/// The invariant under stress: 200 jobs from four threads with random prompts, lengths and seeds while another
/// thread calls setLoras with random adapter sets, timeouts and policies. Every job finishes exactly once;
/// every finished job's tokens equal what it produces alone under the adapter set it reports (a cancelled
/// job's are a prefix); every setLoras committed (epoch + 1) or changed nothing.
@Suite(.enabled(if: Fixtures.available, Fixtures.skipMessage))
struct StressTests {
    static let sets: [[(String, Float)]] = [[], [("dragon", 1)], [("snow", 1)], [("dragon", 0.5), ("snow", 0.5)], [("dragon", -1)]]

    struct Submitted: Sendable {
        var id: JobID
        var request: GenerationRequest
        var prompt: [Int32]
    }

    struct SetLorasOutcome: Sendable {
        var result: SetLorasResult?
        var error: String?
        var timeout: OnTimeout
        var epochAfter: UInt64
    }

    @Test func batchedJobsMatchSoloRunsWhileAdaptersChange() throws {
        let stories = try Stories.load()
        let engine = try stories.engine(EngineConfiguration(maxBatchSize: 8, kvCacheTokens: 2048, maxChunkTokens: 24))
        let log = EventLog()
        let submitted = Mutex<[Submitted]>([])
        let submitting = Mutex(4)
        let group = DispatchGroup()
        for thread in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var rng = SeededGenerator(seed: UInt64(100 + thread))
                var previous: JobID?
                for _ in 0..<50 {
                    let length = Int(rng.next() % 40) + 1
                    let prompt: [Int32] = [1] + (1..<length).map { _ in Int32(3 + rng.next() % 509) }
                    let maxTokens = Int(rng.next() % 40) + 1
                    let sampling: SamplingParameters
                    switch rng.next() % 4 {
                    case 0, 1: sampling = .greedy
                    case 2: sampling = SamplingParameters(temperature: 0.8, topK: 40, topP: 0.95, seed: rng.next())
                    default: sampling = SamplingParameters(temperature: 1, minP: 0.05, repetitionPenalty: 1.1, presencePenalty: 0.2, frequencyPenalty: 0.1, seed: rng.next())
                    }
                    let request = GenerationRequest(prompt: .tokens(prompt), sampling: sampling, stop: StopConditions(maxNewTokens: maxTokens, ignoreEos: rng.next() % 2 == 0))
                    do {
                        let id = try engine.submit(request, sink: log.sink)
                        submitted.withLock { $0.append(Submitted(id: id, request: request, prompt: prompt)) }
                        // Cancel by id now and then: queued, running or already finished.
                        if let earlier = previous, rng.next() % 10 == 0 { engine.cancel(earlier) }
                        previous = id
                    } catch {
                        Issue.record("submit failed: \(error)")
                    }
                    usleep(UInt32(rng.next() % 6000))
                }
                submitting.withLock { $0 -= 1 }
            }
        }
        let outcomes = Mutex<[SetLorasOutcome]>([])
        group.enter()
        // Real threads: the global queue's pool may be as narrow as the core count.
        Thread.detachNewThread {
            defer { group.leave() }
            var rng = SeededGenerator(seed: 7)
            var calls = 0
            while submitting.withLock({ $0 > 0 }) || calls < 14 {
                calls += 1
                let choice = Self.sets[Int(rng.next() % UInt64(Self.sets.count))]
                // A fixed cycle of timeouts and policies: waits that always commit, short aborts, cancels.
                let schedule: [(Duration?, OnTimeout)] = [
                    (nil, .abort), (.milliseconds(2), .abort), (.milliseconds(3), .cancel), (.milliseconds(5), .abort),
                    (nil, .cancel), (.milliseconds(1), .abort), (.milliseconds(10), .abort),
                ]
                var (timeout, policy) = schedule[(calls - 1) % schedule.count]
                // Cancel only when few jobs are live, so most jobs run to the end at any engine speed.
                func live() -> Int { let s = engine.status(); return s.queuedJobs + s.runningJobs }
                if policy == .cancel {
                    var polls = 0
                    while live() > 16 && polls < 200 { usleep(1000); polls += 1 }
                    if live() > 16 { policy = .abort }
                }
                let before = engine.status().epoch
                var outcome = SetLorasOutcome(timeout: policy, epochAfter: 0)
                do {
                    outcome.result = try engine.setLoras(stories.entries(choice), timeout: timeout, onTimeout: policy)
                } catch {
                    outcome.error = "\(error)"
                }
                outcome.epochAfter = engine.status().epoch
                if let r = outcome.result {
                    #expect(r.epoch == before + 1, "a commit moves the epoch by one")
                    #expect(r.adapters == choice.map { AdapterDescription(name: $0.0, scale: $0.1) })
                }
                #expect(outcome.epochAfter == (outcome.result?.epoch ?? before), "committed, or changed nothing")
                outcomes.withLock { $0.append(outcome) }
                usleep(UInt32(rng.next() % 2000))
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        let jobs = submitted.withLock { $0 }
        #expect(jobs.count == 200)
        #expect(log.waitFinished(jobs.count, seconds: 60), "no job is lost")
        let status = engine.status()
        #expect(status.epochViolations == 0)
        #expect(eventually { let s = engine.status(); return s.freeKVPages == s.totalKVPages && s.queuedJobs == 0 && s.runningJobs == 0 })
        engine.shutdown()

        // setLoras: epochs 1, 2, 3, ... one per commit.
        let calls = outcomes.withLock { $0 }
        let commits = calls.compactMap(\.result)
        #expect(commits.map(\.epoch) == Array(1...UInt64(max(commits.count, 1))).prefix(commits.count).map { $0 })
        var setOfEpoch: [UInt64: [AdapterDescription]] = [0: []]
        for c in commits { setOfEpoch[c.epoch] = c.adapters }
        let aborts = calls.filter { $0.error != nil }.count
        let cancelCommits = commits.filter { $0.jobsCancelled > 0 }.count
        let cancelledJobs = commits.reduce(0) { $0 + $1.jobsCancelled }  // by setLoras; cancel(id) adds more
        #expect(commits.count >= 3)
        #expect(aborts + cancelCommits > 0, "some calls time out")
        #expect(cancelledJobs <= jobs.count - 60, "enough jobs run to the end to compare")
        #expect(calls.allSatisfy { $0.error == nil || $0.error?.contains("DrainTimeout") == true })

        // Solo reference: each job alone on a fresh engine under the set it reports.
        var nearTies = 0, compared = 0, cancelled = 0
        var soloEngines: [[AdapterDescription]: Engine] = [:]
        defer { for e in soloEngines.values { e.shutdown() } }
        for job in jobs {
            guard let record = log[job.id], let summary = record.summary else {
                Issue.record("job \(job.id) has no finished event")
                continue
            }
            #expect(record.outOfOrder == 0)
            #expect(setOfEpoch[summary.epoch] == summary.adapters, "job \(job.id) reports epoch \(summary.epoch) with its set")
            if record.startedEpoch != nil { #expect(record.startedEpoch == summary.epoch) }
            if summary.finishReason == .cancelled { cancelled += 1 }
            let key = summary.adapters
            if soloEngines[key] == nil {
                soloEngines[key] = try stories.engine(adapters: key.map { ($0.name, $0.scale) })
            }
            guard let solo = soloEngines[key] else { continue }
            let alone = try runOne(solo, job.request)
            compared += 1
            let expected = summary.finishReason == .cancelled ? Array(alone.tokens.prefix(record.tokens.count)) : alone.tokens
            guard record.tokens != expected else { continue }
            // A divergence is acceptable only at a greedy near-tie of the solo run.
            let k = zip(record.tokens, alone.tokens).prefix { $0 == $1 }.count
            var acceptable = false
            if job.request.sampling?.isGreedy == true && k < alone.tokens.count && k < record.tokens.count {
                let set = try AdapterSet(stories.entries(key.map { ($0.name, $0.scale) }), model: stories.model)
                let step = try GreedyDecoder(model: stories.model, adapters: set.isEmpty ? nil : set).run(prompt: job.prompt + alone.tokens.prefix(k), steps: 1)
                acceptable = (step.steps.first?.margin ?? 1) < Tolerance.nearTieMargin
            }
            if acceptable { nearTies += 1 } else { Issue.record("job \(job.id) under \(key) diverges at token \(k): \(record.tokens) vs alone \(alone.tokens)") }
        }
        #expect(compared == 200)
        print("stress: jobs \(jobs.count), setLoras calls \(calls.count), commits \(commits.count), aborts \(aborts), cancel commits \(cancelCommits) (\(cancelledJobs) jobs cancelled by setLoras), cancelled jobs \(cancelled), near-tie divergences \(nearTies), steps \(status.steps)")
    }
}
