import Foundation
@testable import LoraModel
import Testing

/// The f16 KV cache against the f32 one. f16 keeps about three significant digits of each key and value, so the
/// logits move by ~1e-3 on the fixtures (measured: 0.8–1.8e-3); the bound here is ten times that, and the greedy
/// tokens must agree wherever the f32 run's margin is wider than twice the bound.
struct KVCachePrecisionTests {
    static let logitBound: Float = 1e-2

    /// The four fixture models, each with the direct f16 kernel (16-position pages) and the copy-to-f32 path of
    /// page sizes that are not a multiple of 8.
    @Test(.enabled(if: Fixtures.available, Fixtures.skipMessage), arguments: Fixtures.referenceModels, [16, 4])
    func halfPrecisionCacheStaysCloseToF32(modelName: String, pageSize: Int) throws {
        let model = try LlamaModel(directory: Fixtures.model(modelName))
        let reference = try Fixtures.reference(modelName)
        let prompt = try #require(reference.cases.first?.results.first).ids
        var exact = GreedyDecoder(model: model), half = GreedyDecoder(model: model)
        exact.pageSize = pageSize
        half.pageSize = pageSize
        half.kvCachePrecision = .f16
        // Past one 32-position attention segment, so the join of segments runs over f16 partial results too.
        let steps = 40
        let a = try exact.run(prompt: prompt, steps: steps), b = try half.run(prompt: prompt, steps: steps)
        let worst = zip(a.promptLogits, b.promptLogits).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= Self.logitBound, "\(modelName), pages of \(pageSize): prompt logits differ by up to \(worst)")
        #expect(worst > 0, "\(modelName): an f16 cache that changes nothing is not storing f16")
        for (i, (x, y)) in zip(a.steps, b.steps).enumerated() {
            // A step whose margin is within the bound's reach may legitimately pick the other token.
            guard x.margin > 2 * Self.logitBound else { break }
            #expect(x.token == y.token, "\(modelName), pages of \(pageSize): step \(i) token \(y.token), f32 cache \(x.token)")
            guard x.token == y.token else { break }
        }
    }

    @Test func halfPrecisionHalvesTheCache() throws {
        let config = ForwardConsistencyTests.config
        let f32 = try #require(KVPagePool.byteCount(config: config, pageSize: 16, pageCount: 10))
        let f16 = try #require(KVPagePool.byteCount(config: config, pageSize: 16, pageCount: 10, precision: .f16))
        #expect(f16 * 2 == f32)
        #expect(try KVPagePool(config: config, pageSize: 16, pageCount: 10, precision: .f16).byteCount >= f16)
    }

    /// What goes into a page comes back out: exactly in f32, rounded to nearest in f16, with magnitudes past f16's
    /// range saturated to ±65504 rather than infinite (an infinite key would make every score of its position
    /// infinite or NaN) and NaN kept NaN.
    @Test(arguments: KVCachePrecision.allCases)
    func storedPositionsReadBack(precision: KVCachePrecision) throws {
        let config = ForwardConsistencyTests.config
        let cache = try KVPagePool(config: config, pageSize: 4, pageCount: 3, precision: precision)
        let dh = config.headDim
        var key = (0..<dh).map { Float($0) * 0.1 + 0.01 }, value = (0..<dh).map { -Float($0) * 0.3 }
        key[1] = 1e6
        key[2] = -1e9
        value[3] = .nan
        value[4] = 70_000
        cache.store(key: key, value: value, page: 2, slot: 3, layer: 1, kvHead: 1)
        var keys = [Float](repeating: 0, count: dh), values = [Float](repeating: 0, count: dh)
        cache.copyKeys(page: 2, layer: 1, kvHead: 1, column: 3, count: 1, into: &keys, rowStride: 1)
        cache.copyValues(page: 2, layer: 1, kvHead: 1, row: 3, count: 1, into: &values)
        let stored: (Float) -> Float = { x in
            precision == .f32 ? x : (x.magnitude > 65504 ? Float(signOf: x, magnitudeOf: 65504) : Float(Float16(x)))
        }
        for d in 0..<dh where d != 3 {
            #expect(keys[d] == stored(key[d]), "key dimension \(d)")
            #expect(values[d] == stored(value[d]), "value dimension \(d)")
        }
        #expect(values[3].isNaN)
        // The transposed key column: dimension d of slot 3 sits P elements after dimension d − 1.
        var neighbour = [Float](repeating: .nan, count: dh)
        cache.copyKeys(page: 2, layer: 1, kvHead: 1, column: 2, count: 1, into: &neighbour, rowStride: 1)
        #expect(neighbour.allSatisfy { $0 == 0 }, "slot 2 of the page is untouched")
    }
}
