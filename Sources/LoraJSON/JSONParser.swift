/// A recursive-descent JSON parser over a byte buffer. Its recursion is bounded by `maxDepth`, so hostile input
/// (arrays nested 100,000 deep) fails with `.tooDeep` instead of exhausting the stack.
struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let strict: Bool
    let maxDepth: Int
    let maxStringBytes: Int
    let maxElements: Int
    var position = 0
    var elements = 0

    init(bytes: UnsafeBufferPointer<UInt8>, options: JSONParseOptions) {
        self.bytes = bytes
        strict = options.strict
        maxDepth = max(0, min(options.maxDepth, JSONParseOptions.maxDepthCeiling))
        maxStringBytes = options.maxStringBytes ?? Int.max
        maxElements = options.maxElements ?? Int.max
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw error("unexpected text after the JSON value") }
        return value
    }

    func error(_ message: String, _ kind: JSONParseError.Kind = .syntax) -> JSONParseError {
        JSONParseError(kind: kind, message: message, offset: position)
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            let b = bytes[position]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 } else { return }
        }
    }

    mutating func countElement() throws(JSONParseError) {
        elements += 1
        if elements > maxElements { throw error("more than \(maxElements) values", .tooLarge) }
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard position < bytes.count else { throw error("unexpected end of input") }
        switch bytes[position] {
        case 0x7B:
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels", .tooDeep) }
            return try parseObject(depth: depth)
        case 0x5B:
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels", .tooDeep) }
            return try parseArray(depth: depth)
        case 0x22: return .string(try parseString())
        case 0x74: try expect("true"); return .bool(true)
        case 0x66: try expect("false"); return .bool(false)
        case 0x6E: try expect("null"); return .null
        default: return .number(try parseNumber())
        }
    }

    mutating func expect(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("invalid literal") }
        for i in 0..<count where bytes[position + i] != word.utf8Start[i] { throw error("invalid literal") }
        position += count
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        position += 1
        var members: [(String, JSONValue)] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == 0x7D { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == 0x22 else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == 0x3A else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            try countElement()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == 0x2C { position += 1; continue }
            if bytes[position] == 0x7D { position += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        position += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count && bytes[position] == 0x5D { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            try countElement()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == 0x2C { position += 1; continue }
            if bytes[position] == 0x5D { position += 1; return .array(items) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = position
        if strict {
            try scanStrictNumber()
        } else {
            while position < bytes.count {
                let b = bytes[position]
                if (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2B || b == 0x2E || b == 0x65 || b == 0x45 {
                    position += 1
                } else {
                    break
                }
            }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard position > start, strict || Double(text) != nil else {
            position = start
            throw error("invalid value")
        }
        return JSONNumber(uncheckedText: text)
    }

    /// RFC 8259: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func scanStrictNumber() throws(JSONParseError) {
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        let start = position
        if position < bytes.count && bytes[position] == 0x2D { position += 1 }
        guard isDigit(position) else { position = start; throw error("invalid value") }
        if bytes[position] == 0x30 {
            position += 1
            if isDigit(position) { throw error("leading zero in a number") }
        } else {
            while isDigit(position) { position += 1 }
        }
        if position < bytes.count && bytes[position] == 0x2E {
            position += 1
            guard isDigit(position) else { throw error("a digit must follow the decimal point") }
            while isDigit(position) { position += 1 }
        }
        if position < bytes.count && (bytes[position] == 0x65 || bytes[position] == 0x45) {
            position += 1
            if position < bytes.count && (bytes[position] == 0x2B || bytes[position] == 0x2D) { position += 1 }
            guard isDigit(position) else { throw error("a digit must follow the exponent mark") }
            while isDigit(position) { position += 1 }
        }
    }

    /// Decodes the bytes `start..<end` (no escapes) as a string: validated in strict mode, repaired otherwise.
    func makeString(_ raw: UnsafeBufferPointer<UInt8>, at start: Int) throws(JSONParseError) -> String {
        if strict && !JSONUTF8.isValid(raw) {
            throw JSONParseError(message: "invalid UTF-8 in a string", offset: start)
        }
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func parseString() throws(JSONParseError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let b = bytes[position]
            if b == 0x22 {
                guard position - start <= maxStringBytes else { throw error("string longer than \(maxStringBytes) bytes", .tooLarge) }
                let s = try makeString(UnsafeBufferPointer(rebasing: bytes[start..<position]), at: start)
                position += 1
                return s
            }
            if b == 0x5C { break }
            if b < 0x20 { throw error("control character in string") }
            position += 1
        }
        var out = Array(bytes[start..<position])
        while position < bytes.count {
            if out.count > maxStringBytes { throw error("string longer than \(maxStringBytes) bytes", .tooLarge) }
            let b = bytes[position]
            if b == 0x22 {
                position += 1
                return try out.withUnsafeBufferPointer { raw throws(JSONParseError) in try makeString(raw, at: start) }
            }
            if b < 0x20 { throw error("control character in string") }
            if b != 0x5C { out.append(b); position += 1; continue }
            position += 1
            guard position < bytes.count else { break }
            let e = bytes[position]
            position += 1
            switch e {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x2F: out.append(0x2F)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75: JSONUTF8.encode(try parseUnicodeEscape(), into: &out)
            default:
                position -= 1
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }

    /// The scalar of a `\u` escape (after the `u`), joining a surrogate pair; a lone surrogate is an error in
    /// strict mode and U+FFFD otherwise.
    mutating func parseUnicodeEscape() throws(JSONParseError) -> UInt32 {
        let v = try parseHex4()
        if v >= 0xD800 && v < 0xDC00 {
            if position + 6 <= bytes.count && bytes[position] == 0x5C && bytes[position + 1] == 0x75 {
                let save = position
                position += 2
                let low = try parseHex4()
                if low >= 0xDC00 && low < 0xE000 { return 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) }
                position = save
            }
            if strict { throw error("lone surrogate in a \\u escape") }
            return 0xFFFD
        }
        if v >= 0xDC00 && v < 0xE000 {
            if strict { throw error("lone surrogate in a \\u escape") }
            return 0xFFFD
        }
        return v
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("invalid \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt32
            switch c {
            case 0x30...0x39: digit = UInt32(c - 0x30)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | digit
            position += 1
        }
        return v
    }
}
