/// How strictly, and within which limits, `JSONValue.parse` reads a document.
public struct JSONParseOptions: Sendable {
    /// The deepest nesting of arrays and objects accepted; the parser's recursion is bounded by it (values above
    /// `JSONParseOptions.maxDepthCeiling` are lowered to it, so no setting can overflow the stack).
    public var maxDepth: Int
    /// RFC 8259 exactly (invalid UTF-8, lone surrogate escapes, `+1`, `01`, `1.`, `.5`, `1e` are errors) when true;
    /// when false, the tokenizer's lenient reading: invalid UTF-8 and lone surrogates become U+FFFD and any
    /// number text that `Double` accepts is taken.
    public var strict: Bool
    /// The longest string (decoded UTF-8 bytes) accepted, or nil for no limit.
    public var maxStringBytes: Int?
    /// The most values (array items plus object members, counted over the whole document) accepted, or nil.
    public var maxElements: Int?

    /// The highest `maxDepth` honoured.
    public static let maxDepthCeiling = 1_024

    /// Options; by default strict, 512 levels deep, no size caps.
    public init(maxDepth: Int = 512, strict: Bool = true, maxStringBytes: Int? = nil, maxElements: Int? = nil) {
        self.maxDepth = maxDepth
        self.strict = strict
        self.maxStringBytes = maxStringBytes
        self.maxElements = maxElements
    }

    /// RFC 8259, 512 levels.
    public static let strict = JSONParseOptions()
    /// The tokenizer's reading of `tokenizer.json` files (see `strict`).
    public static let lenient = JSONParseOptions(strict: false)
}
