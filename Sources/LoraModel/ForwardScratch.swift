import LoraNumerics

/// Activation buffers for forward passes, sized for the largest batch seen so far and reused, so a decode step
/// allocates nothing but its logits. One per caller; not thread-safe.
///
/// Glossary: T new tokens in the batch, D hidden, Dq = H·Dh, Dkv = Hkv·Dh, I intermediate.
public final class ForwardScratch {
    private(set) var tokenCapacity = 0
    /// Residual stream x (T, D).
    private(set) var hidden = FloatBuffer(count: 0)
    /// Normed input of a block (T, D).
    private(set) var normed = FloatBuffer(count: 0)
    /// q|k|v projections (T, Dq + 2·Dkv).
    private(set) var qkv = FloatBuffer(count: 0)
    /// Attention output (T, Dq).
    private(set) var attention = FloatBuffer(count: 0)
    /// gate|up projections (T, 2·I).
    private(set) var gateUp = FloatBuffer(count: 0)
    /// silu(gate)·up (T, I).
    private(set) var activated = FloatBuffer(count: 0)
    /// RoPE cos and sin per token (T, Dh/2).
    private(set) var cos = FloatBuffer(count: 0)
    private(set) var sin = FloatBuffer(count: 0)
    /// Attention scores of the gathered (prefill) path.
    private(set) var scores = FloatBuffer(count: 0)
    /// Partial results of decode attention's segments (outputs, then their softmax statistics).
    private(set) var partials = FloatBuffer(count: 0)
    /// Per-core copies of one decode segment's keys and values, for page sizes that are not a multiple of 8.
    private(set) var segmentGather = FloatBuffer(count: 0)
    /// Gathered keys (Hkv, Dh, S) and values (Hkv, S, Dh) of one sequence.
    private(set) var gatheredKeys = FloatBuffer(count: 0)
    private(set) var gatheredValues = FloatBuffer(count: 0)

    /// Empty scratch; buffers grow on first use.
    public init() {}

    func ensure(tokens: Int, config: LlamaConfig) {
        guard tokens > tokenCapacity else { return }
        let t = max(tokens, tokenCapacity * 2, 1)
        hidden = FloatBuffer(count: t * config.hiddenSize)
        normed = FloatBuffer(count: t * config.hiddenSize)
        qkv = FloatBuffer(count: t * config.qkvWidth)
        attention = FloatBuffer(count: t * config.queryDim)
        gateUp = FloatBuffer(count: t * 2 * config.intermediateSize)
        activated = FloatBuffer(count: t * config.intermediateSize)
        cos = FloatBuffer(count: t * config.headDim / 2)
        sin = FloatBuffer(count: t * config.headDim / 2)
        tokenCapacity = t
    }

    func ensureScores(_ count: Int) {
        if scores.count < count { scores = FloatBuffer(count: max(count, scores.count * 2)) }
    }

    func ensurePartials(_ count: Int) {
        if partials.count < count { partials = FloatBuffer(count: max(count, partials.count * 2)) }
    }

    func ensureSegmentGather(_ count: Int) {
        if segmentGather.count < count { segmentGather = FloatBuffer(count: count) }
    }

    func ensureGather(positions: Int, headDim: Int) {
        let n = positions * headDim
        if gatheredKeys.count < n {
            gatheredKeys = FloatBuffer(count: max(n, gatheredKeys.count * 2))
            gatheredValues = FloatBuffer(count: max(n, gatheredValues.count * 2))
        }
    }
}
