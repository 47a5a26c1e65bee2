/// GPT-2's reversible map from bytes to printable characters, used by the `ByteLevel` pre-tokenizer and decoder.
enum ByteLevelAlphabet {
    /// The character (scalar value) standing for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The UTF-8 bytes of the character standing for each byte.
    static let utf8ForByte: [[UInt8]] = scalarForByte.map { v in
        var out: [UInt8] = []
        UnicodeText.encode(v, into: &out)
        return out
    }

    /// The byte each alphabet character stands for, indexed by scalar value (< 0x144), or -1.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, v) in scalarForByte.enumerated() { table[Int(v)] = Int16(b) }
        return table
    }()

    /// Maps every byte of `bytes` to its alphabet character, as UTF-8.
    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(contentsOf: utf8ForByte[Int(b)]) }
        return out
    }
}
