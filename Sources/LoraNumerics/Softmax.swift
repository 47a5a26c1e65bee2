import Foundation

/// Numerically stable softmax and log-softmax over a vector.
public enum Softmax {
    /// Replaces `x[0..<n]` by its softmax (vectorized; see `FastExp`).
    public static func inPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        let raw = UnsafeMutableRawPointer(x)
        let inv = 1 / exponentiate(x, n).sum
        let invVector = SIMD8<Float>(repeating: inv)
        var i = 0
        while i + 8 <= n {
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * invVector, toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { x[i] *= inv; i += 1 }
    }

    /// Replaces `x[0..<n]` by `exp(x[i] - max)` and returns that maximum and the sum of the new values: the
    /// unnormalized first pass of `inPlace`. For `n == 0`, `(-∞, 0)`.
    private static func exponentiate(_ x: UnsafeMutablePointer<Float>, _ n: Int) -> (max: Float, sum: Float) {
        guard n > 0 else { return (-.infinity, 0) }
        let raw = UnsafeMutableRawPointer(x)
        var maxVector = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            maxVector.replace(with: v, where: v .> maxVector)
            i += 8
        }
        var maxValue = maxVector.max()
        while i < n { maxValue = Swift.max(maxValue, x[i]); i += 1 }
        let shift = SIMD8<Float>(repeating: maxValue)
        var sumVector = SIMD8<Float>()
        i = 0
        while i + 8 <= n {
            let e = FastExp.exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - shift)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            sumVector += e
            i += 8
        }
        var sum = sumVector.sum()
        while i < n {
            let e = FastExp.exp(x[i] - maxValue)
            x[i] = e
            sum += e
            i += 1
        }
        return (maxValue, sum)
    }

    /// `log(softmax(x))[index]`, computed without overflow (in double for a stable sum).
    public static func logProbability(of index: Int, in x: UnsafePointer<Float>, _ n: Int) -> Float {
        var maxValue = -Float.infinity
        for i in 0..<n where x[i] > maxValue { maxValue = x[i] }
        var sum: Double = 0
        for i in 0..<n { sum += Double(expf(x[i] - maxValue)) }
        return Float(Double(x[index] - maxValue) - log(sum))
    }
}
