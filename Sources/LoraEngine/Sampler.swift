import Foundation
import LoraNumerics

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

    /// The next token. `logits` is modified in place (penalties; when sampling, non-finite values made usable).
    public mutating func choose(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        applyPenalties(logits)
        let p = parameters
        // argmax already ranks NaN below every number, as `sanitize` would: no extra pass over the vocabulary.
        if p.isGreedy { return Int32(Argmax.index(UnsafeBufferPointer(logits))) }
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

    /// Makes every logit one the draw can use, in place: a NaN (from a broken model or adapter) becomes -inf,
    /// never chosen; when some logits are +inf (an overflowing penalty), those become 0 and all others -inf,
    /// so the choice is uniform among them, the limit of the softmax. Returns false when no logit has any
    /// probability (all NaN or -inf). Without this the softmax's sum is NaN and no draw ever succeeds.
    static func sanitize(_ logits: UnsafeMutableBufferPointer<Float>) -> Bool {
        var anyFinite = false, anyInfinite = false
        for i in logits.indices {
            let v = logits[i]
            if v.isNaN {
                logits[i] = -.infinity
            } else if v == .infinity {
                anyInfinite = true
            } else if v != -.infinity {
                anyFinite = true
            }
        }
        if anyInfinite {
            for i in logits.indices { logits[i] = logits[i] == .infinity ? 0 : -.infinity }
        }
        return anyFinite || anyInfinite
    }

    /// Samples from softmax(logits / temperature) restricted by top-k, then top-p, then min-p, using the
    /// uniform draw `u` in [0, 1). Candidates are ordered by logit, then by id, so the result is a pure
    /// function of its inputs.
    ///
    /// Without top-k the candidates are the whole vocabulary, but the draw, top-p and min-p only walk its best
    /// prefix. Sorting every id for every token cost 2 ms on a 49k vocabulary; instead the ids whose
    /// probability is at least a threshold (a prefix of the order, ties included) are sorted, and the
    /// threshold is lowered only when the walk runs past them.
    ///
    /// Non-finite logits are first made usable (`sanitize`); when none has any probability the result is 0.
    static func sample(_ logits: UnsafeMutableBufferPointer<Float>, temperature: Float, topK: Int, topP: Float, minP: Float, uniform u: Float) -> Int {
        let n = logits.count
        guard sanitize(logits) else { return 0 }
        if topK > 0 && topK < n {
            let order = best(logits, k: topK)
            let top = Double(logits[order[0]])
            let weights = order.map { exp((Double(logits[$0]) - top) / Double(temperature)) }
            let total = weights.reduce(0, +)
            return walk(order, complete: true, probabilities: weights.map { $0 / total }, topP: topP, minP: minP, uniform: u) ?? order[0]
        }
        var top = logits[0]
        for i in 1..<n where logits[i] > top { top = logits[i] }
        // Unnormalized probabilities in double, for stable sums; the best is 1.
        var weights = [Double](repeating: 0, count: n)
        for i in 0..<n { weights[i] = exp((Double(logits[i]) - Double(top)) / Double(temperature)) }
        let total = weights.reduce(0, +)
        var threshold = 1e-2
        var keys: [UInt64] = []
        while true {
            // A flat distribution puts most of the vocabulary above the threshold: sort packed (logit, id)
            // keys rather than ids through a comparison closure (49k ids: ~6 ms that way).
            keys.removeAll(keepingCapacity: true)
            for i in 0..<n where weights[i] >= threshold { keys.append(Self.orderKey(logits[i], id: i)) }
            Self.radixSortByLogit(&keys)
            let order = keys.map { Int(truncatingIfNeeded: $0 & 0xFFFF_FFFF) }
            let complete = order.count == n
            if let pick = walk(order, complete: complete, probabilities: order.map { weights[$0] / total },
                               topP: topP, minP: minP, uniform: u) {
                return pick
            }
            // Every weight is in [0, 1] once the logits are sanitized, so the pass at threshold 0 holds every id
            // and its walk, being complete, returns; stopping there anyway keeps the loop finite by construction.
            guard threshold > 0 else { return order.first ?? 0 }
            threshold = threshold > 1e-12 ? threshold * 1e-2 : 0
        }
    }

    /// A key whose ascending order is the candidates' (larger logit, then lower id): the logit's bits made
    /// monotonic and inverted (larger first), then the id (smaller first). Ids fit 32 bits (vocabularies are
    /// checked at load).
    static func orderKey(_ logit: Float, id: Int) -> UInt64 {
        let bits = (logit == 0 ? 0 : logit).bitPattern  // -0 ties with +0, as `==` has it
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(~ascending) << 32 | UInt64(UInt32(truncatingIfNeeded: id))
    }

    /// Sorts `orderKey`s appended in increasing id order: a stable radix sort on their logit half (four
    /// 8-bit digits) leaves equal logits in id order, which is the full key order. Four linear passes instead
    /// of a comparison sort's ~16 on a 49k vocabulary.
    static func radixSortByLogit(_ keys: inout [UInt64]) {
        guard keys.count > 64 else {
            keys.sort()
            return
        }
        var other = [UInt64](repeating: 0, count: keys.count)
        var counts = [Int](repeating: 0, count: 256)
        for shift in stride(from: 32, to: 64, by: 8) {
            keys.withUnsafeBufferPointer { source in
                other.withUnsafeMutableBufferPointer { target in
                    counts.withUnsafeMutableBufferPointer { count in
                        count.update(repeating: 0)
                        for key in source { count[Int(truncatingIfNeeded: key >> UInt64(shift)) & 255] += 1 }
                        var start = 0
                        for digit in 0..<256 {
                            let c = count[digit]
                            count[digit] = start
                            start += c
                        }
                        for key in source {
                            let digit = Int(truncatingIfNeeded: key >> UInt64(shift)) & 255
                            target[count[digit]] = key
                            count[digit] += 1
                        }
                    }
                }
            }
            swap(&keys, &other)
        }
    }

    /// The draw over the best candidates `order` with their probabilities (all candidates when `complete`);
    /// nil when the walk needs candidates beyond `order`. A draw over every candidate of an incomplete prefix
    /// takes the probabilities' sum as 1.
    private static func walk(
        _ order: [Int], complete: Bool, probabilities probs: [Double],
        topP: Float, minP: Float, uniform u: Float
    ) -> Int? {
        guard !probs.isEmpty else { return nil }
        var keep: Int?
        if topP < 1 {
            var cumulative = 0.0
            for i in probs.indices {
                cumulative += probs[i]
                if cumulative >= Double(topP) { keep = i + 1; break }
            }
            if keep == nil && !complete { return nil }
        }
        if minP > 0 {
            let floor = Double(minP) * probs[0]
            var i = 1
            while i < (keep ?? probs.count) && probs[i] >= floor { i += 1 }
            if i == probs.count && keep == nil && !complete { return nil }
            keep = i
        }
        let kept = keep ?? probs.count
        let total = keep != nil ? probs[..<kept].reduce(0, +) : (complete ? probs.reduce(0, +) : 1)
        let target = Double(u) * total
        var cumulative = 0.0
        for i in 0..<kept {
            cumulative += probs[i]
            if target < cumulative { return order[i] }
        }
        return complete || keep != nil ? order[kept - 1] : nil
    }

    /// Above this k, `best` radix-sorts every id instead of inserting into a sorted array, whose cost grows
    /// with n · k (top-k 49151 of 49152 was ~1e9 moves per token).
    static let insertionTopKLimit = 64

    /// The ids of the k best logits, ordered by logit then id (k < logits.count, no NaN).
    static func best(_ logits: UnsafeMutableBufferPointer<Float>, k: Int) -> [Int] {
        guard k > insertionTopKLimit else {
            return partialTop(logits.indices, k: k) { a, b in logits[a] > logits[b] || (logits[a] == logits[b] && a < b) }
        }
        var keys = logits.indices.map { orderKey(logits[$0], id: $0) }
        radixSortByLogit(&keys)
        return keys.prefix(k).map { Int(truncatingIfNeeded: $0 & 0xFFFF_FFFF) }
    }

    /// The k best of `items` under `by`, sorted.
    private static func partialTop(_ items: Range<Int>, k: Int, by better: (Int, Int) -> Bool) -> [Int] {
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
