import Foundation

/// Numerically stable softmax and log-softmax over a vector.
public enum Softmax {
    /// Replaces `x[0..<n]` by its softmax.
    public static func inPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        guard n > 0 else { return }
        var maxValue = -Float.infinity
        for i in 0..<n where x[i] > maxValue { maxValue = x[i] }
        var sum: Float = 0
        for i in 0..<n {
            let e = expf(x[i] - maxValue)
            x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<n { x[i] *= inv }
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
