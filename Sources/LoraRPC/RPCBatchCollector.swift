import Synchronization

/// Gathers a batch's replies, which may arrive in any order and from any thread, and hands them over as one JSON
/// array in request order once the last one is in.
final class RPCBatchCollector: Sendable {
    private struct State {
        var replies: [[UInt8]?]
        var remaining: Int
    }

    private let state: Mutex<State>
    private let completion: @Sendable ([UInt8]) -> Void

    /// A collector for `slots` replies; `completion` gets the array's bytes.
    init(slots: Int, completion: @escaping @Sendable ([UInt8]) -> Void) {
        state = Mutex(State(replies: Array(repeating: nil, count: slots), remaining: slots))
        self.completion = completion
    }

    /// Stores reply `slot` (a second reply for a slot is ignored); the last one sends the array.
    func fill(_ slot: Int, _ reply: [UInt8]) {
        let done: [[UInt8]]? = state.withLock { state in
            guard state.replies[slot] == nil else { return nil }
            state.replies[slot] = reply
            state.remaining -= 1
            guard state.remaining == 0 else { return nil }
            return state.replies.compactMap { $0 }
        }
        guard let done else { return }
        var line: [UInt8] = [0x5B]
        line.reserveCapacity(done.reduce(2) { $0 + $1.count + 1 })
        for (i, reply) in done.enumerated() {
            if i > 0 { line.append(0x2C) }
            line.append(contentsOf: reply)
        }
        line.append(0x5D)
        completion(line)
    }
}
