import Foundation
import LoraNumerics
import Testing

/// The fast kernels against plain, obvious implementations in double precision.
struct KernelTests {
    static func random(_ n: Int, seed: UInt64) -> [Float] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    static func maxDifference(_ a: [Float], _ b: [Double]) -> Double {
        zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0
    }

    @Test(arguments: [1, 7, 8, 31, 64, 100, 576])
    func dotMatchesPlainSum(n: Int) {
        let a = Self.random(n, seed: 1), b = Self.random(n, seed: 2)
        let fast = VectorOps.dot(a, b, n)
        let plain = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(Double(fast) - plain) <= 1e-5 * Double(n), "dot n=\(n): \(fast) vs \(plain)")
    }

    @Test func rmsNormMatchesDefinition() {
        let rows = 3, dim = 37
        let x = Self.random(rows * dim, seed: 3), w = Self.random(dim, seed: 4)
        var y = [Float](repeating: 0, count: rows * dim)
        RMSNorm.apply(x: x, ldx: dim, weight: w, y: &y, ldy: dim, rows: rows, dim: dim, eps: 1e-5)
        var expected: [Double] = []
        for r in 0..<rows {
            let row = x[(r * dim)..<((r + 1) * dim)].map(Double.init)
            let ms = row.reduce(0) { $0 + $1 * $1 } / Double(dim)
            for i in 0..<dim { expected.append(Double(w[i]) * row[i] / (ms + 1e-5).squareRoot()) }
        }
        #expect(Self.maxDifference(y, expected) < 1e-5)
    }

    /// Small inputs run on one core; 16 decode rows of SmolLM2's width and an odd-sized block are split over the cores.
    @Test(arguments: [(2, 19), (16, 1536), (33, 520)])
    func siluGateMatchesDefinition(rows: Int, dim: Int) {
        let gu = Self.random(rows * 2 * dim, seed: 5).map { $0 * 6 }
        var out = [Float](repeating: 0, count: rows * dim)
        Activation.siluGate(gateUp: gu, ld: 2 * dim, out: &out, ldo: dim, rows: rows, dim: dim)
        var expected: [Double] = []
        for r in 0..<rows {
            for i in 0..<dim {
                let g = Double(gu[r * 2 * dim + i]), u = Double(gu[r * 2 * dim + dim + i])
                expected.append(g / (1 + exp(-g)) * u)
            }
        }
        #expect(Self.maxDifference(out, expected) < 1e-5)
    }

    @Test func softmaxSumsToOneAndMatches() {
        var x = Self.random(50, seed: 6).map { $0 * 20 }
        let original = x.map(Double.init)
        let m = original.max()!
        let z = original.reduce(0) { $0 + exp($1 - m) }
        Softmax.inPlace(&x, 50)
        #expect(Self.maxDifference(x, original.map { exp($0 - m) / z }) < 1e-6)
        let lp = Softmax.logProbability(of: 3, in: original.map(Float.init), 50)
        #expect(abs(Double(lp) - (original[3] - m - log(z))) < 1e-5)
    }

    /// HF inverse frequencies written out plainly, in double, for each rope type.
    static func referenceFrequencies(dim: Int, theta: Double, scaling: RotaryEmbedding.Scaling) -> [Double] {
        var f = (0..<(dim / 2)).map { 1 / pow(theta, Double(2 * $0) / Double(dim)) }
        switch scaling {
        case .none: break
        case .linear(let factor): f = f.map { $0 / Double(factor) }
        case let .llama3(factor, low, high, original):
            f = f.map { freq in
                let wavelen = 2 * Double.pi / freq
                let lowWave = Double(original) / Double(low), highWave = Double(original) / Double(high)
                if wavelen < highWave { return freq }
                if wavelen > lowWave { return freq / Double(factor) }
                let smooth = (Double(original) / wavelen - Double(low)) / (Double(high) - Double(low))
                return (1 - smooth) * freq / Double(factor) + smooth * freq
            }
        }
        return f
    }

    /// Head sizes whose halves take the eight-pair loop only (16), the one-pair tail only (6), and both (40).
    @Test(arguments: [
        RotaryEmbedding.Scaling.none,
        .linear(factor: 4),
        .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64),
    ], [16, 6, 40])
    func ropeMatchesRotateHalfDefinition(scaling: RotaryEmbedding.Scaling, dim: Int) {
        let heads = 3, position = 77
        let rope = RotaryEmbedding(dim: dim, theta: 500_000, scaling: scaling)
        let reference = Self.referenceFrequencies(dim: dim, theta: 500_000, scaling: scaling)
        for (a, b) in zip(rope.inverseFrequencies, reference) {
            #expect(abs(Double(a) - b) <= 1e-6 * b + 1e-12, "inverse frequency \(a) vs \(b)")
        }
        var x = Self.random(heads * dim, seed: 7)
        let original = x.map(Double.init)
        var cosT = [Float](repeating: 0, count: dim / 2), sinT = cosT
        rope.angles(position: position, cos: &cosT, sin: &sinT)
        RotaryEmbedding.rotate(&x, heads: heads, dim: dim, cos: cosT, sin: sinT)
        // q·cos + rotate_half(q)·sin with rotate_half(q) = cat(-q2, q1).
        var expected: [Double] = []
        for h in 0..<heads {
            let v = Array(original[(h * dim)..<((h + 1) * dim)])
            for j in 0..<dim {
                let freq = reference[j % (dim / 2)]
                let angle = Double(position) * freq
                let rotated = j < dim / 2 ? -v[j + dim / 2] : v[j - dim / 2]
                expected.append(v[j] * cos(angle) + rotated * sin(angle))
            }
        }
        #expect(Self.maxDifference(x, expected) < 1e-4)
    }

    /// Row counts that take every tile (4, 2, 1 rows), more than one 64-row block, output counts with a partial
    /// last panel, and an input size split into several depth chunks.
    @Test(arguments: [(1, 45, 70), (2, 45, 70), (3, 48, 70), (5, 50, 70), (7, 24, 9), (16, 45, 70), (17, 73, 70),
                      (65, 45, 70), (130, 50, 33), (6, 30, 1_700)])
    func linearMatchesPlainProduct(rows: Int, outDim: Int, inDim: Int) {
        let dense = Self.random(outDim * inDim, seed: 8)
        let w = dense.withUnsafeBufferPointer { PanelMatrix(packing: $0.baseAddress!, rows: outDim, cols: inDim) }
        let x = Self.random(rows * inDim, seed: 9)
        var expected: [Double] = []
        for t in 0..<rows {
            for o in 0..<outDim {
                var s = 0.0
                for i in 0..<inDim { s += Double(x[t * inDim + i]) * Double(dense[o * inDim + i]) }
                expected.append(s)
            }
        }
        var y = [Float](repeating: 0.5, count: rows * outDim)
        PanelGEMM.multiply(w, x: x, ldx: inDim, rows: rows, y: &y, ldy: outDim, accumulate: true)
        #expect(Self.maxDifference(y, expected.map { $0 + 0.5 }) < 1e-4 * Double(max(1, inDim / 100)))
        var assigned = [Float](repeating: .nan, count: rows * outDim)
        PanelGEMM.multiply(w, x: x, ldx: inDim, rows: rows, y: &assigned, ldy: outDim, accumulate: false)
        #expect(Self.maxDifference(assigned, expected) < 1e-4 * Double(max(1, inDim / 100)))
    }

    @Test func panelMatrixRoundTripsRowMajor() {
        let rows = 50, cols = 13
        let dense = Self.random(rows * cols, seed: 21)
        let packed = dense.withUnsafeBufferPointer { PanelMatrix(packing: $0.baseAddress!, rows: rows, cols: cols) }
        #expect(packed.panelCount == 3)
        let back = packed.unpacked()
        #expect((0..<(rows * cols)).allSatisfy { back.pointer[$0] == dense[$0] })
        var row = [Float](repeating: 0, count: cols)
        packed.copyRow(37, to: &row)
        #expect(row == Array(dense[(37 * cols)..<(38 * cols)]))
        #expect(packed[49, 12] == dense[49 * cols + 12])
    }

    @Test func linearRowsDoNotDependOnTheBatch() {
        // Each row's result must be bit-identical whatever else shares the call (batch invariance of decode).
        let inDim = 77, outDim = 301
        let dense = Self.random(outDim * inDim, seed: 13)
        let w = dense.withUnsafeBufferPointer { PanelMatrix(packing: $0.baseAddress!, rows: outDim, cols: inDim) }
        let x = Self.random(100 * inDim, seed: 14)
        var alone = [Float](repeating: 0, count: outDim)
        PanelGEMM.multiply(w, x: Array(x[(5 * inDim)..<(6 * inDim)]), ldx: inDim, rows: 1, y: &alone, ldy: outDim)
        for rows in [2, 3, 4, 6, 7, 16, 64, 100] {
            var y = [Float](repeating: 0, count: rows * outDim)
            PanelGEMM.multiply(w, x: x, ldx: inDim, rows: rows, y: &y, ldy: outDim)
            if rows > 5 { #expect(Array(y[(5 * outDim)..<(6 * outDim)]) == alone, "row 5 of \(rows)") }
        }
    }

    /// Products of different shapes in one section: the cores' bands cross from one product into the next
    /// (and a core claims its next band before its current one ends), and every product must still equal
    /// what it gives alone, bit for bit.
    @Test(arguments: [1, 9, 16, 70])
    func productsInOneSectionEqualThemAlone(rows: Int) {
        let shapes = [(24 * 5 + 7, 40), (24, 96), (24 * 9, 33), (13, 40)]
        let weights = shapes.enumerated().map { i, shape in
            Self.random(shape.0 * shape.1, seed: UInt64(30 + i)).withUnsafeBufferPointer {
                PanelMatrix(packing: $0.baseAddress!, rows: shape.0, cols: shape.1)
            }
        }
        let inputs = shapes.enumerated().map { i, shape in Self.random(rows * shape.1, seed: UInt64(40 + i)) }
        let alone = shapes.indices.map { i -> [Float] in
            var y = [Float](repeating: 0, count: rows * shapes[i].0)
            PanelGEMM.multiply(weights[i], x: inputs[i], ldx: shapes[i].1, rows: rows, y: &y, ldy: shapes[i].0)
            return y
        }
        let outputs = shapes.map { FloatBuffer(count: rows * $0.0) }
        let x = inputs.map { input in
            let buffer = FloatBuffer(count: input.count)
            buffer.pointer.update(from: input, count: input.count)
            return buffer
        }
        let products = shapes.indices.map {
            PanelGEMM.Product(weights[$0], x: x[$0].pointer, ldx: shapes[$0].1, y: outputs[$0].pointer, ldy: shapes[$0].0)
        }
        // The products hold raw pointers into `x`: keep its buffers alive past their last named use.
        withExtendedLifetime(x) {
            for round in 0..<20 {
                // A lost panel leaves NaN; with `+=` onto zeros, a panel computed twice doubles.
                let accumulate = round % 2 == 1
                for o in outputs { o.pointer.update(repeating: accumulate ? 0 : .nan, count: o.count) }
                PanelGEMM.multiply(each: products, rows: rows, accumulate: accumulate)
                for i in shapes.indices {
                    #expect(Array(UnsafeBufferPointer(start: outputs[i].pointer, count: outputs[i].count)) == alone[i],
                            "product \(i), round \(round)")
                }
            }
        }
    }

    @Test func workerPoolRunsEveryPartOnce() {
        let pool = WorkerPool.shared
        for round in 0..<200 {
            let parts = pool.parallelism
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: parts)
            hits.initialize(repeating: 0, count: parts)
            let box = UncheckedSendableBox(hits)
            pool.run(parts: parts) { p in box.value[p] += round + 1 }
            #expect((0..<parts).allSatisfy { hits[$0] == round + 1 })
            hits.deallocate()
        }
    }

    @Test(arguments: [(0, 1), (1, 1), (2, 1), (7, 3), (1_000, 1), (1_000, 64), (5, 100)])
    func sharedRangesCoverEveryIndexOnce(count: Int, grain: Int) {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        hits.initialize(repeating: 0, count: max(count, 1))
        defer { hits.deallocate() }
        let box = UncheckedSendableBox(hits)
        let emptyRanges = UnsafeMutablePointer<Int>.allocate(capacity: ParallelFor.workerCount)
        emptyRanges.initialize(repeating: 0, count: ParallelFor.workerCount)
        defer { emptyRanges.deallocate() }
        let emptyBox = UncheckedSendableBox(emptyRanges)
        ParallelFor.shared(count: count, grain: grain) { part, next in
            while let range = next() {
                if range.isEmpty { emptyBox.value[part] += 1 }
                for i in range { box.value[i] += 1 }
            }
        }
        #expect((0..<count).allSatisfy { hits[$0] == 1 })
        #expect((0..<ParallelFor.workerCount).allSatisfy { emptyRanges[$0] == 0 })
    }

    @Test(arguments: [0, 1, 63, 64, 65, 1_000])
    func sumAddsEveryElement(count: Int) {
        let x = (0..<count).map { Float($0 % 7) - 2.5 }
        let expected = x.reduce(0.0) { $0 + Double($1) }
        #expect(abs(Double(VectorOps.sum(x, count)) - expected) < 1e-3)
    }

    @Test func fastExpMatchesLibm() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            let got = FastExp.exp(x), expected = expf(x)
            worst = max(worst, abs(got - expected) / expected)
            x += 0.0137
        }
        #expect(worst < 4e-7, "largest relative error \(worst)")
        #expect(FastExp.exp(-Float.infinity) == 0 && FastExp.exp(-200) == 0)
        #expect(FastExp.exp(100) == .infinity && FastExp.exp(0) == 1)
    }

    @Test func halfPrecisionConversionsAreExact() {
        // Every f16 bit pattern against Swift's own Float16.
        for bits in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = HalfPrecision.float16ToFloat(bits)
            if expected.isNaN { #expect(got.isNaN) } else { #expect(got.bitPattern == expected.bitPattern, "f16 \(bits)") }
        }
        #expect(HalfPrecision.bfloat16ToFloat(0x3F80) == 1)
        #expect(HalfPrecision.bfloat16ToFloat(0xC040) == -3)
        #expect(HalfPrecision.bfloat16ToFloat(0x7F80) == .infinity)
    }

    /// The bulk conversions (eight at a time, then a scalar tail) equal the one-value ones on every bit pattern,
    /// from an odd offset, so both the vector loop and the tail run.
    @Test func bulkHalfPrecisionConversionsMatchScalar() {
        let patterns = (0..<65_541).map { UInt16(truncatingIfNeeded: $0 &* 40_503) }
        let bytes = patterns.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        var f16 = [Float](repeating: 0, count: patterns.count - 1), bf16 = f16
        bytes.withUnsafeBytes { raw in
            HalfPrecision.convertFloat16(raw.baseAddress! + 2, to: &f16, count: f16.count)
            HalfPrecision.convertBFloat16(raw.baseAddress! + 2, to: &bf16, count: bf16.count)
        }
        var mismatches = 0
        for (i, bits) in patterns.dropFirst().enumerated() {
            let h = HalfPrecision.float16ToFloat(bits), b = HalfPrecision.bfloat16ToFloat(bits)
            if !(h.isNaN ? f16[i].isNaN : f16[i].bitPattern == h.bitPattern) { mismatches += 1 }
            if !(b.isNaN ? bf16[i].isNaN : bf16[i].bitPattern == b.bitPattern) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
