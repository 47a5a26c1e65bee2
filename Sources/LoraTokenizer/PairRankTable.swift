/// An open-addressing hash table from a pair of token ids to the merge's rank and resulting id: the BPE inner
/// loop's only lookup, so it avoids `Dictionary`'s SipHash.
struct PairRankTable: Sendable {
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        (UInt64(UInt32(bitPattern: left)) << 32) | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    /// Sets the merge for `(left, right)`; a later merge of the same pair replaces an earlier one.
    mutating func insert(_ left: Int32, _ right: Int32, rank: Int32, result: Int32) {
        let k = Self.key(left, right)
        var i = slot(k)
        while keys[i] != Self.empty && keys[i] != k { i = (i + 1) & mask }
        keys[i] = k
        values[i] = (UInt64(UInt32(bitPattern: rank)) << 32) | UInt64(UInt32(bitPattern: result))
    }

    /// The merge of `(left, right)` as `rank << 32 | result`, or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64? {
        let k = Self.key(left, right)
        var i = slot(k)
        return keys.withUnsafeBufferPointer { keys in
            while true {
                let stored = keys[i]
                if stored == k { return values[i] }
                if stored == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
