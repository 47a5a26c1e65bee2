/// Hand-written matchers with the exact semantics (leftmost match, alternatives tried in order, greedy with
/// backtracking) of the GPT-2 and Llama 3 pre-tokenizer regexes. They run over Unicode scalars and are much
/// faster than ICU; `PreTokenizerScannerTests` holds them to `NSRegularExpression` on the whole corpus.
enum PreTokenizerScanner {
    enum Rule { case gpt2, llama3 }

    static func matches(in bytes: [UInt8], rule: Rule) -> [Range<Int>] {
        if bytes.isEmpty { return [] }
        let (scalars, offsets) = UnicodeText.scalars(of: bytes)
        var classes = [UInt8](repeating: 0, count: scalars.count)
        for i in 0..<scalars.count { classes[i] = UnicodeText.regexClass(scalars[i]) }
        var result: [Range<Int>] = []
        result.reserveCapacity(scalars.count / 3 + 1)
        scalars.withUnsafeBufferPointer { s in
            classes.withUnsafeBufferPointer { c in
                var i = 0
                while i < s.count {
                    let end = rule == .gpt2 ? gpt2Match(s, c, at: i) : llama3Match(s, c, at: i)
                    result.append(offsets[i]..<offsets[end])
                    i = end
                }
            }
        }
        return result
    }

    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20

    @inline(__always)
    private static func run(_ c: UnsafeBufferPointer<UInt8>, from start: Int, of cls: UInt8) -> Int {
        var j = start
        while j < c.count && c[j] == cls { j += 1 }
        return j
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d`, optionally ASCII-case-insensitive (plus U+017F, which folds to s).
    @inline(__always)
    private static func contraction(_ s: UnsafeBufferPointer<UInt32>, at i: Int, ignoreCase: Bool) -> Int? {
        guard s[i] == apostrophe, i + 1 < s.count else { return nil }
        func fold(_ v: UInt32) -> UInt32 {
            guard ignoreCase else { return v }
            if v >= 0x41 && v <= 0x5A { return v + 32 }
            if v == 0x17F { return 0x73 }
            return v
        }
        let d = fold(s[i + 1])
        if d == 0x73 || d == 0x74 || d == 0x6D || d == 0x64 { return i + 2 }  // s t m d
        if i + 2 < s.count {
            let e = fold(s[i + 2])
            if (d == 0x72 && e == 0x65) || (d == 0x76 && e == 0x65) || (d == 0x6C && e == 0x6C) { return i + 3 }
        }
        return nil
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar.
    @inline(__always)
    private static func whitespaceRun(_ c: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        let e = run(c, from: i, of: UnicodeText.whitespace)
        if e == c.count { return e }
        return e - i >= 2 ? e - 1 : e
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    private static func gpt2Match(_ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        if let end = contraction(s, at: i, ignoreCase: false) { return end }
        let k = (s[i] == space && i + 1 < s.count) ? i + 1 : i
        let ck = c[k]
        if ck != UnicodeText.whitespace { return run(c, from: k, of: ck) }
        return whitespaceRun(c, at: i)
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    private static func llama3Match(_ s: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        if let end = contraction(s, at: i, ignoreCase: true) { return end }
        let ci = c[i]
        let letter = UnicodeText.letter
        if ci == letter { return run(c, from: i, of: letter) }
        if ci == UnicodeText.number {
            var j = i + 1
            while j < c.count && j < i + 3 && c[j] == UnicodeText.number { j += 1 }
            return j
        }
        let isLineBreak = s[i] == 0x0D || s[i] == 0x0A
        if !isLineBreak && i + 1 < s.count && c[i + 1] == letter { return run(c, from: i + 1, of: letter) }
        let k = (s[i] == space && i + 1 < s.count) ? i + 1 : i
        if c[k] == UnicodeText.other {
            var j = run(c, from: k, of: UnicodeText.other)
            while j < s.count && (s[j] == 0x0D || s[j] == 0x0A) { j += 1 }
            return j
        }
        // s[i] is whitespace from here on.
        let e = run(c, from: i, of: UnicodeText.whitespace)
        var p = e - 1
        while p >= i {
            if s[p] == 0x0D || s[p] == 0x0A { return p + 1 }
            p -= 1
        }
        if e == c.count { return e }
        return e - i >= 2 ? e - 1 : e
    }
}
