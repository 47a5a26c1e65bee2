import Foundation

/// Helpers for working on UTF-8 bytes and Unicode scalars: the tokenizer's text is kept as `[UInt8]` so that
/// splitting and lookups never pay for `String`'s grapheme and normalization machinery.
enum UnicodeText {
    /// Class bits of a scalar, as the pre-tokenizer regexes see it.
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let other: UInt8 = 8

    /// Decodes the scalar starting at `i` of valid UTF-8; returns the scalar value and its length in bytes.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return (((b0 & 0x1F) << 6) | (UInt32(bytes[i + 1]) & 0x3F), 2) }
        if b0 < 0xF0 {
            return (((b0 & 0x0F) << 12) | ((UInt32(bytes[i + 1]) & 0x3F) << 6) | (UInt32(bytes[i + 2]) & 0x3F), 3)
        }
        let v = ((b0 & 0x07) << 18) | ((UInt32(bytes[i + 1]) & 0x3F) << 12)
            | ((UInt32(bytes[i + 2]) & 0x3F) << 6) | (UInt32(bytes[i + 3]) & 0x3F)
        return (v, 4)
    }

    /// Appends the UTF-8 encoding of scalar `v` to `out`.
    @inline(__always)
    static func encode(_ v: UInt32, into out: inout [UInt8]) {
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(UInt8(0xC0 | (v >> 6))); out.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            out.append(UInt8(0xE0 | (v >> 12))); out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (v >> 18))); out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F))); out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// The scalars of valid UTF-8 `bytes`, with the byte offset of each (plus a final entry: the length).
    static func scalars(of bytes: [UInt8]) -> (scalars: [UInt32], offsets: [Int]) {
        var scalars: [UInt32] = []
        var offsets: [Int] = []
        scalars.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        bytes.withUnsafeBufferPointer { buffer in
            var i = 0
            while i < buffer.count {
                let (v, n) = decode(buffer, at: i)
                scalars.append(v)
                offsets.append(i)
                i += n
            }
        }
        offsets.append(bytes.count)
        return (scalars, offsets)
    }

    /// The regex class (letter, number, whitespace or other) of a scalar, as `\p{L}`, `\p{N}` and `\s` define them.
    @inline(__always)
    static func regexClass(_ v: UInt32) -> UInt8 {
        if v < 0x10000 { return bmpClasses[Int(v)] }
        return computeClass(v)
    }

    private static let bmpClasses: [UInt8] = (0..<0x10000).map { computeClass(UInt32($0)) }

    private static func computeClass(_ v: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(v) else { return other }
        let properties = scalar.properties
        if properties.isWhitespace { return whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return other
        }
    }

    /// Rust's `char::is_whitespace`: the Unicode White_Space property.
    @inline(__always)
    static func isWhitespace(_ v: UInt32) -> Bool { regexClass(v) == whitespace }

    /// Rust's `char::is_numeric`: general categories Nd, Nl, No.
    @inline(__always)
    static func isNumeric(_ v: UInt32) -> Bool { regexClass(v) == number }

    /// Rust's `char::is_alphanumeric`: Alphabetic or Numeric.
    static func isAlphanumeric(_ v: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(v) else { return false }
        return scalar.properties.isAlphabetic || isNumeric(v)
    }

    /// Unicode punctuation (general category P*) or ASCII punctuation, as the `Punctuation` pre-tokenizer uses.
    static func isPunctuation(_ v: UInt32) -> Bool {
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        guard let scalar = Unicode.Scalar(v) else { return false }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// `\w` as Oniguruma defines it for Unicode: letters, marks, decimal numbers and connector punctuation.
    static func isWordCharacter(_ v: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(v) else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            return true
        default:
            return false
        }
    }

    /// Whether `bytes` is well-formed UTF-8.
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
