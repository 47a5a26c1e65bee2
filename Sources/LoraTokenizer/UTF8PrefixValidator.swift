/// Follows a byte sequence one byte at a time and tells as soon as it can no longer be the start of valid UTF-8
/// (the rules of `UnicodeText.isValidUTF8`: no overlong forms, no surrogates, nothing above U+10FFFF).
struct UTF8PrefixValidator: Sendable, Equatable {
    /// Continuation bytes still expected by the current character.
    private var needed = 0
    /// The range the next continuation byte must fall in (narrower than 80...BF right after E0, ED, F0 and F4).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// Whether the bytes so far end on a character boundary.
    var isComplete: Bool { needed == 0 }

    /// Takes the next byte; false when the bytes so far cannot be extended to valid UTF-8 (the state is then spent).
    mutating func accept(_ byte: UInt8) -> Bool {
        if needed > 0 {
            guard byte >= lower && byte <= upper else { return false }
            needed -= 1
            lower = 0x80
            upper = 0xBF
            return true
        }
        switch byte {
        case 0x00...0x7F: return true
        case 0xC2...0xDF: needed = 1
        case 0xE0: needed = 2; lower = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: needed = 2
        case 0xED: needed = 2; upper = 0x9F
        case 0xF0: needed = 3; lower = 0x90
        case 0xF1...0xF3: needed = 3
        case 0xF4: needed = 3; upper = 0x8F
        default: return false
        }
        return true
    }
}
