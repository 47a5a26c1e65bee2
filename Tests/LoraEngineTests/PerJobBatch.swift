import Foundation
import LoraEngine
import LoraEngineTestSupport
import Synchronization

/// Runs requests as one batch: a one-token trigger job's `started` event submits them all from the engine
/// thread, so they reach the engine in one control pass and are admitted in the same step.
enum PerJobBatch {
    static func run(_ engine: Engine, _ requests: [GenerationRequest]) throws -> [JobRecord] {
        let ids = Mutex<[JobID]>([])
        let failure = Mutex<(any Error)?>(nil)
        let log = EventLog()
        let trigger = EventLog { event in
            guard case .started = event else { return }
            do {
                let submitted = try requests.map { try engine.submit($0, sink: log.sink) }
                ids.withLock { $0 = submitted }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        _ = try engine.submit(GenerationRequest(prompt: .tokens([1]), sampling: .greedy, stop: StopConditions(maxNewTokens: 1)), sink: trigger.sink)
        guard trigger.waitFinished(1) else { throw TestFailure("the trigger job did not finish") }
        if let error = failure.withLock({ $0 }) { throw error }
        guard log.waitFinished(requests.count) else { throw TestFailure("the batch did not finish") }
        return try ids.withLock { $0 }.map { id in
            guard let record = log[id] else { throw TestFailure("job \(id) has no record") }
            return record
        }
    }
}
