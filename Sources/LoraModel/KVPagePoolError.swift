/// Why a KV page pool of the requested size cannot be made.
public enum KVPagePoolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The page size is below 1.
    case invalidPageSize(Int)
    /// The page count is below 1 or above `KVPagePool.maxPageCount`.
    case invalidPageCount(Int)
    /// The pool's storage would pass 2^63 bytes.
    case tooLarge(pageSize: Int, pageCount: Int)

    public var description: String {
        switch self {
        case let .invalidPageSize(size): return "KV page size \(size) is not positive; give at least 1"
        case let .invalidPageCount(count):
            return "KV page count \(count) is outside 1...\(KVPagePool.maxPageCount); lower the KV cache size or raise the page size"
        case let .tooLarge(size, count):
            return "a KV cache of \(count) pages of \(size) positions needs more than 2^63 bytes; lower the KV cache size"
        }
    }
}
