import LoraNumerics
import Testing

/// Slices of a `WeightArena` are zeroed, aligned for the kernels, disjoint, and outlive the arena.
struct WeightArenaTests {
    @Test func slicesAreZeroedAlignedAndDisjoint() {
        let arena = WeightArena(expectedFloats: 10_000)
        let sizes = [1, 17, 1_000, 24 * 70, 5, 3_000]
        let slices = sizes.map { arena.slice(count: $0) }
        for (slice, size) in zip(slices, sizes) {
            #expect(slice.count == size)
            #expect(Int(bitPattern: slice.pointer) % 64 == 0)
            #expect((0..<size).allSatisfy { slice.pointer[$0] == 0 })
        }
        // Writing every slice in full leaves the others intact.
        for (i, slice) in slices.enumerated() { slice.pointer.update(repeating: Float(i + 1), count: slice.count) }
        for (i, slice) in slices.enumerated() { #expect((0..<slice.count).allSatisfy { slice.pointer[$0] == Float(i + 1) }) }
        // The expected size bounds the first block; the total no more than doubles it here.
        #expect(arena.reservedBytes >= sizes.reduce(0, +) * 4 && arena.reservedBytes <= 2 * 10_000 * 4 + 3_000 * 4)
    }

    @Test func aRequestLargerThanTheExpectationGetsItsOwnBlock() {
        let arena = WeightArena(expectedFloats: 100)
        let small = arena.slice(count: 50)
        let large = arena.slice(count: 10_000)
        #expect(large.count == 10_000 && (0..<10_000).allSatisfy { large.pointer[$0] == 0 })
        small.pointer[49] = 7
        #expect(large.pointer[0] == 0)
    }

    @Test func panelMatricesFromAnArenaComputeLikeOwnedOnes() {
        let arena = WeightArena(expectedFloats: 1 << 16)
        let dense = KernelTests.random(45 * 70, seed: 41)
        let owned = dense.withUnsafeBufferPointer { PanelMatrix(packing: $0.baseAddress!, rows: 45, cols: 70) }
        let carved = PanelMatrix(rows: 45, cols: 70, arena: arena)
        dense.withUnsafeBufferPointer { carved.store(rowMajor: $0.baseAddress!, ld: 70, firstRow: 0, count: 45) }
        _ = PanelMatrix(rows: 30, cols: 70, arena: arena)  // a neighbour in the same block
        let x = KernelTests.random(5 * 70, seed: 42)
        var a = [Float](repeating: 0, count: 5 * 45), b = a
        PanelGEMM.multiply(owned, x: x, ldx: 70, rows: 5, y: &a, ldy: 45)
        PanelGEMM.multiply(carved, x: x, ldx: 70, rows: 5, y: &b, ldy: 45)
        #expect(a == b)
    }
}
