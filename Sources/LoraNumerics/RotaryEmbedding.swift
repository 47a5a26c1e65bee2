import Foundation

/// Rotary position embedding in the Hugging Face "rotate half" layout: a head of `dim` floats is split in two
/// halves and pair `(j, j + dim/2)` is rotated by `position · invFreq[j]`.
///
/// Frequencies and angles are computed in f32, as transformers does, so positions far into the context match.
public struct RotaryEmbedding: Sendable {
    /// How the base frequencies are rescaled for long contexts.
    public enum Scaling: Sendable, Equatable {
        /// Plain RoPE.
        case none
        /// Positions divided by `factor` (rope type `linear`).
        case linear(factor: Float)
        /// Llama 3.1 frequency-dependent scaling (rope type `llama3`).
        case llama3(factor: Float, lowFreqFactor: Float, highFreqFactor: Float, originalMaxPositions: Int)
    }

    /// Head dimension the table was built for.
    public let dim: Int
    /// The `dim / 2` inverse frequencies after scaling.
    public let inverseFrequencies: [Float]

    /// Builds the frequency table for heads of `dim` floats.
    public init(dim: Int, theta: Float, scaling: Scaling) {
        precondition(dim > 0 && dim % 2 == 0, "rotary dimension must be positive and even")
        self.dim = dim
        var freqs = (0..<(dim / 2)).map { i -> Float in
            1 / powf(theta, Float(2 * i) / Float(dim))
        }
        switch scaling {
        case .none:
            break
        case .linear(let factor):
            freqs = freqs.map { $0 / factor }
        case let .llama3(factor, low, high, original):
            let old = Float(original)
            let lowFreqWavelen = old / low
            let highFreqWavelen = old / high
            freqs = freqs.map { f in
                let wavelen = 2 * Float.pi / f
                if wavelen < highFreqWavelen { return f }
                if wavelen > lowFreqWavelen { return f / factor }
                let smooth = (old / wavelen - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
        inverseFrequencies = freqs
    }

    /// Writes `cos` and `sin` of the angles for `position` into `cos[0..<dim/2]`, `sin[0..<dim/2]`.
    public func angles(position: Int, cos cosOut: UnsafeMutablePointer<Float>, sin sinOut: UnsafeMutablePointer<Float>) {
        let p = Float(position)
        for j in 0..<(dim / 2) {
            let a = p * inverseFrequencies[j]
            cosOut[j] = cosf(a)
            sinOut[j] = sinf(a)
        }
    }

    /// Rotates `heads` consecutive heads of `dim` floats at `x` in place with precomputed `cos`/`sin` halves.
    /// Eight pairs at a time: the same multiplies and subtractions per element as one pair at a time.
    @inlinable
    public static func rotate(
        _ x: UnsafeMutablePointer<Float>, heads: Int, dim: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let half = dim / 2
        let raw = UnsafeMutableRawPointer(x)
        let cosRaw = UnsafeRawPointer(cos), sinRaw = UnsafeRawPointer(sin)
        for h in 0..<heads {
            let v = x + h * dim
            var j = 0
            while j + 8 <= half {
                let low = (h * dim + j) * 4, high = low + half * 4
                let a = raw.loadUnaligned(fromByteOffset: low, as: SIMD8<Float>.self)
                let b = raw.loadUnaligned(fromByteOffset: high, as: SIMD8<Float>.self)
                let c = cosRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                let s = sinRaw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self)
                raw.storeBytes(of: a * c - b * s, toByteOffset: low, as: SIMD8<Float>.self)
                raw.storeBytes(of: b * c + a * s, toByteOffset: high, as: SIMD8<Float>.self)
                j += 8
            }
            while j < half {
                let a = v[j], b = v[j + half]
                v[j] = a * cos[j] - b * sin[j]
                v[j + half] = b * cos[j] + a * sin[j]
                j += 1
            }
        }
    }
}
