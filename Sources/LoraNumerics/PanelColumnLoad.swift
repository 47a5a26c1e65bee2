import CKernelSupport

/// How the micro-kernel reads vector `i` (8 weights) of a panel column as f32: one implementation per
/// `PanelElement`, so the tile loops are written once and specialised per format.
protocol PanelColumnLoad {
    /// Bytes of one stored value.
    static var byteSize: Int { get }
    /// How far ahead of its loads a one- or two-row tile that reads a chunk from memory prefetches it, when no
    /// other prefetch covers the chunk (0: not at all). Few rows have few FMA chains, whose latency paces the
    /// loop; a 16-bit column is 48 bytes, so the loads the core can run ahead with cover too little of the
    /// memory latency: batch-1 decode read bf16 weights at ~75% of the bandwidth, and 1 KiB ahead took it
    /// 14–16% faster, 2 rows 11–18% (in-process A/B); f32 columns (96 bytes) were 9–32% slower with it.
    static var streamPrefetchBytes: Int { get }
    /// The same for the four-row tile (4–7 rows): 1 KiB ahead took it 2–14% faster in f32 as well as 16-bit.
    static var fourRowStreamPrefetchBytes: Int { get }
    /// Weights `8i ..< 8i + 8` of the column starting at `column`, widened to f32.
    static func vector(_ column: UnsafeRawPointer, _ i: Int) -> SIMD8<Float>
}

enum Float32Column: PanelColumnLoad {
    static var byteSize: Int { 4 }
    static var streamPrefetchBytes: Int { 0 }
    static var fourRowStreamPrefetchBytes: Int { 1024 }
    @inline(__always)
    static func vector(_ column: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        column.load(fromByteOffset: i * 32, as: SIMD8<Float>.self)
    }
}

/// The widening instructions come from `widen.h`: the standard library's generic SIMD conversions were not
/// inlined into the tile loops (each became a call).
enum BFloat16Column: PanelColumnLoad {
    static var byteSize: Int { 2 }
    static var streamPrefetchBytes: Int { 1024 }
    static var fourRowStreamPrefetchBytes: Int { 1024 }
    /// A bf16 value is the top half of an f32: zero-extend and shift (`vpmovzxwd` + `vpslld`).
    @inline(__always)
    static func vector(_ column: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        lorad_widen_bfloat16(column + i * 16)
    }
}

enum Float16Column: PanelColumnLoad {
    static var byteSize: Int { 2 }
    static var streamPrefetchBytes: Int { 1024 }
    static var fourRowStreamPrefetchBytes: Int { 1024 }
    /// IEEE half to single (`vcvtph2ps`), exact for every value including subnormals.
    @inline(__always)
    static func vector(_ column: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        lorad_widen_float16(column + i * 16)
    }
}
