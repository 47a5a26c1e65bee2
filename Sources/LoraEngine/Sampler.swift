import Foundation

/// Chooses a job's next token from one row of logits (V). A value type, one per job: it holds the job's
/// random stream and the counts of the tokens seen so far (for the penalties).
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SeededGenerator
    /// Times each token was generated (presence and frequency penalties).
    private var generatedCounts: [Int32: Int] = [:]
    /// Tokens in the prompt or the output (repetition penalty).
    private var seen: Set<Int32> = []

    /// A sampler for one job whose prompt is `prompt`.
    public init(parameters: SamplingParameters, prompt: [Int32]) {
        self.parameters = parameters
        random = SeededGenerator(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
        if parameters.repetitionPenalty != 1 { seen = Set(prompt) }
    }

    /// Records a generated token (call after every choice).
    public mutating func accept(_ token: Int32) {
        if parameters.presencePenalty != 0 || parameters.frequencyPenalty != 0 { generatedCounts[token, default: 0] += 1 }
        if parameters.repetitionPenalty != 1 { seen.insert(token) }
    }

    /// The next token. `logits` is modified in place (penalties, temperature).
    public mutating func choose(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        applyPenalties(logits)
        let p = parameters
        if p.isGreedy { return Int32(Self.argmax(UnsafeBufferPointer(logits))) }
        let u = random.nextUnitFloat()
        return Int32(Self.sample(logits, temperature: p.temperature, topK: p.topK, topP: p.topP, minP: p.minP, uniform: u))
    }

    /// Repetition (transformers' rule: divide a positive logit, multiply a negative one), then presence and
    /// frequency (subtract), over the tokens seen so far.
    func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>) {
        let p = parameters
        if p.repetitionPenalty != 1 {
            for token in seen where Int(token) < logits.count {
                let i = Int(token)
                logits[i] = logits[i] > 0 ? logits[i] / p.repetitionPenalty : logits[i] * p.repetitionPenalty
            }
        }
        if p.presencePenalty != 0 || p.frequencyPenalty != 0 {
            for (token, count) in generatedCounts where Int(token) < logits.count {
                logits[Int(token)] -= p.presencePenalty + p.frequencyPenalty * Float(count)
            }
        }
    }

    /// The index of the largest value; the lowest index wins a tie.
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<values.count where values[i] > values[best] { best = i }
        return best
    }

    /// Samples from softmax(logits / temperature) restricted by top-k, then top-p, then min-p, using the
    /// uniform draw `u` in [0, 1). Candidates are ordered by logit, then by id, so the result is a pure
    /// function of its inputs.
    static func sample(_ logits: UnsafeMutableBufferPointer<Float>, temperature: Float, topK: Int, topP: Float, minP: Float, uniform u: Float) -> Int {
        let n = logits.count
        var order = Array(0..<n)
        let byLogit: (Int, Int) -> Bool = { a, b in logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        if topK > 0 && topK < n {
            order = Array(partialTop(order, k: topK, by: byLogit))
        } else {
            order.sort(by: byLogit)
        }
        // Probabilities of the candidates, in double for stable sums.
        let top = Double(logits[order[0]])
        var probs = order.map { exp((Double(logits[$0]) - top) / Double(temperature)) }
        var total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        var keep = probs.count
        if topP < 1 {
            var cumulative = 0.0
            for i in probs.indices {
                cumulative += probs[i]
                if cumulative >= Double(topP) { keep = i + 1; break }
            }
        }
        if minP > 0 {
            let floor = Double(minP) * probs[0]
            var i = 1
            while i < keep && probs[i] >= floor { i += 1 }
            keep = i
        }
        total = probs[..<keep].reduce(0, +)
        let target = Double(u) * total
        var cumulative = 0.0
        for i in 0..<keep {
            cumulative += probs[i]
            if target < cumulative { return order[i] }
        }
        return order[keep - 1]
    }

    /// The k best of `items` under `by`, sorted.
    private static func partialTop(_ items: [Int], k: Int, by better: (Int, Int) -> Bool) -> [Int] {
        var heap: [Int] = []  // sorted best-first, at most k
        heap.reserveCapacity(k + 1)
        for item in items {
            if heap.count == k, let last = heap.last, !better(item, last) { continue }
            var lo = 0, hi = heap.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if better(heap[mid], item) { lo = mid + 1 } else { hi = mid }
            }
            heap.insert(item, at: lo)
            if heap.count > k { heap.removeLast() }
        }
        return heap
    }
}
