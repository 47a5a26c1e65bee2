import LoraNumerics
import Testing

/// The one arg-max: ties go to the lowest index, NaN never wins over a number.
struct ArgmaxTests {
    static func index(_ v: [Float]) -> Int { v.withUnsafeBufferPointer { Argmax.index($0) } }
    static func runnerUp(_ v: [Float], excluding i: Int) -> Int? { v.withUnsafeBufferPointer { Argmax.runnerUp($0, excluding: i) } }

    @Test func lowestIndexWinsATie() {
        #expect(Self.index([1, 3, 3, 2]) == 1)
        #expect(Self.index([5]) == 0)
        #expect(Self.index([]) == 0)
    }

    @Test func nanRanksBelowEveryNumber() {
        #expect(Self.index([.nan, -.infinity, -5]) == 2)
        #expect(Self.index([.nan, 1, .nan, 2]) == 3)
        #expect(Self.index([-.infinity, .nan]) == 0, "all NaN or -inf: the first")
        #expect(Self.index([.nan, .nan]) == 0)
    }

    @Test func runnerUpFollowsTheSameRule() {
        #expect(Self.runnerUp([1, 3, 3, 2], excluding: 1) == 2)
        #expect(Self.runnerUp([4, 1, .nan, 3], excluding: 0) == 3)
        #expect(Self.runnerUp([.nan, 9, 1], excluding: 1) == 2)
        #expect(Self.runnerUp([2, 9, 2], excluding: 1) == 0, "the earlier index wins a tie across the gap")
        #expect(Self.runnerUp([7], excluding: 0) == nil)
    }
}
