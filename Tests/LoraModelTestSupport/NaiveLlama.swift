import Foundation
import LoraModel
import LoraNumerics

/// A plain, obvious Llama forward in double precision over a whole sequence at once (no cache, no batching,
/// no fused weights): the reference the fast path is checked against.
public struct NaiveLlama {
    public let model: LlamaModel

    public init(model: LlamaModel) { self.model = model }

    /// Logits (V) for every position of `tokens`.
    public func logits(_ tokens: [Int32]) -> [[Double]] {
        let c = model.config, w = model.weights
        let d = c.hiddenSize, dh = c.headDim, n = tokens.count
        func matrixRows(_ m: PanelMatrix, _ r0: Int, _ count: Int, _ x: [Double]) -> [Double] {
            (r0..<(r0 + count)).map { r in (0..<m.cols).reduce(0.0) { $0 + Double(m[r, $1]) * x[$1] } }
        }
        func norm(_ x: [Double], _ weight: FloatBuffer) -> [Double] {
            let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
            return x.enumerated().map { Double(weight.pointer[$0.offset]) * $0.element / (ms + Double(c.rmsNormEps)).squareRoot() }
        }
        func rope(_ v: [Double], position: Int) -> [Double] {
            let f = model.rotary.inverseFrequencies.map(Double.init)
            return (0..<dh).map { j in
                let angle = Double(position) * f[j % (dh / 2)]
                let rotated = j < dh / 2 ? -v[j + dh / 2] : v[j - dh / 2]
                return v[j] * cos(angle) + rotated * sin(angle)
            }
        }
        var xs: [[Double]] = tokens.map { t in (0..<d).map { Double(w.embedding(Int(t), $0)) } }
        for layer in w.layers {
            var qs: [[[Double]]] = [], ks: [[[Double]]] = [], vs: [[[Double]]] = []
            for (p, x) in xs.enumerated() {
                let h = norm(x, layer.inputNorm)
                let q = matrixRows(layer.qkv, 0, c.queryDim, h)
                let k = matrixRows(layer.qkv, c.queryDim, c.kvDim, h)
                let v = matrixRows(layer.qkv, c.queryDim + c.kvDim, c.kvDim, h)
                qs.append((0..<c.headCount).map { rope(Array(q[($0 * dh)..<(($0 + 1) * dh)]), position: p) })
                ks.append((0..<c.kvHeadCount).map { rope(Array(k[($0 * dh)..<(($0 + 1) * dh)]), position: p) })
                vs.append((0..<c.kvHeadCount).map { Array(v[($0 * dh)..<(($0 + 1) * dh)]) })
            }
            let group = c.headCount / c.kvHeadCount
            for i in 0..<n {
                var attn: [Double] = []
                for h in 0..<c.headCount {
                    let g = h / group
                    let scores = (0...i).map { j in zip(qs[i][h], ks[j][g]).reduce(0) { $0 + $1.0 * $1.1 } / Double(dh).squareRoot() }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    attn += (0..<dh).map { t in (0...i).reduce(0.0) { $0 + e[$1] / z * vs[$1][g][t] } }
                }
                let o = matrixRows(layer.o, 0, d, attn)
                xs[i] = zip(xs[i], o).map { $0 + $1 }
                let h = norm(xs[i], layer.postNorm)
                let gate = matrixRows(layer.gateUp, 0, c.intermediateSize, h)
                let up = matrixRows(layer.gateUp, c.intermediateSize, c.intermediateSize, h)
                let act = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                let down = matrixRows(layer.down, 0, d, act)
                xs[i] = zip(xs[i], down).map { $0 + $1 }
            }
        }
        return xs.map { matrixRows(w.lmHead, 0, c.vocabSize, norm($0, w.finalNorm)) }
    }
}
