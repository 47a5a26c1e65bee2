/// A JSON number kept as its exact text, so that it is written back as it came (JSON-RPC ids are echoed exactly)
/// and read as an integer or a double only when asked.
///
/// The integer accessors return a value only when the number is exactly an integer in the type's range, whatever
/// its notation: `100`, `1e2` and `100.0` are all 100; `1.5`, `1e-1` and `2^64` (for `uint64`) are nil.
public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    /// The number's text: as parsed, or as written by the initializers (`null` for a non-finite double).
    public let text: String

    /// A number with the given text, which the caller guarantees is a JSON number.
    init(uncheckedText text: String) { self.text = text }

    /// An integer.
    public init(_ value: Int) { text = String(value) }
    /// A 64-bit integer.
    public init(_ value: Int64) { text = String(value) }
    /// An unsigned 64-bit integer.
    public init(_ value: UInt64) { text = String(value) }
    /// A double, written in its shortest round-trip form; NaN and infinities are written as `null`.
    public init(_ value: Double) { text = value.isFinite ? "\(value)" : "null" }

    /// The text.
    public var description: String { text }

    /// The value as a finite double, or nil when it does not fit (1e400) or the number is not finite.
    public var double: Double? {
        guard let d = Double(text), d.isFinite else { return nil }
        return d
    }

    /// The value if it is an integer in `Int64`'s range.
    public var int64: Int64? {
        guard let (negative, magnitude) = exactInteger else { return nil }
        if !negative { return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil }
        if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
        return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
    }

    /// The value if it is an integer in `UInt64`'s range.
    public var uint64: UInt64? {
        guard let (negative, magnitude) = exactInteger else { return nil }
        return !negative || magnitude == 0 ? magnitude : nil
    }

    /// The value if it is an integer in `Int`'s range.
    public var int: Int? { int64.flatMap { Int(exactly: $0) } }

    /// The value if it is an integer whose magnitude fits in 64 bits (-(2^64-1) ... 2^64-1).
    public var int128: Int128? {
        guard let (negative, magnitude) = exactInteger else { return nil }
        return negative ? -Int128(magnitude) : Int128(magnitude)
    }

    /// Sign and magnitude when the text is exactly an integer whose magnitude fits in 64 bits.
    public var exactInteger: (negative: Bool, magnitude: UInt64)? {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        // The significant digits (integer and fraction parts together) and the power of ten they are scaled by.
        var digits: [UInt8] = []
        var scale = 0
        var sawDigit = false
        var inFraction = false
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b >= 0x30 && b <= 0x39 {
                sawDigit = true
                if !(digits.isEmpty && b == 0x30) { digits.append(b - 0x30) }
                if inFraction { scale -= 1 }
            } else if b == UInt8(ascii: ".") && !inFraction {
                inFraction = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { return nil }
        if i < bytes.endIndex {
            guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return nil }
            i += 1
            var expNegative = false
            if i < bytes.endIndex, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < bytes.endIndex else { return nil }
            var exponent = 0
            while i < bytes.endIndex {
                let b = bytes[i]
                guard b >= 0x30 && b <= 0x39 else { return nil }
                // Saturate: any exponent past a million already decides the answer.
                exponent = min(exponent * 10 + Int(b - 0x30), 1_000_000)
                i += 1
            }
            scale += expNegative ? -exponent : exponent
        }
        // Leading zeros in the fraction were skipped only before the first non-zero digit; drop trailing zeros.
        while let last = digits.last, last == 0 { digits.removeLast(); scale += 1 }
        if digits.isEmpty { return (negative, 0) }
        guard scale >= 0, digits.count + scale <= 20 else { return nil }
        var magnitude: UInt64 = 0
        for d in digits + Array(repeating: 0, count: scale) {
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(d))
            guard !o1, !o2 else { return nil }
            magnitude = sum
        }
        return (negative, magnitude)
    }
}

extension BinaryInteger {
    /// The number's value when it is exactly an integer representable in this type (`Int32(exactly: n)`).
    public init?(exactly number: JSONNumber) {
        guard let value = number.int128, let converted = Self(exactly: value) else { return nil }
        self = converted
    }
}
