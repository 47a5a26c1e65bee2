import LoraJSON
import Testing

/// RFC 8259 conformance of the strict parser, its limits, and the lenient mode the tokenizer uses.
@Suite
struct JSONParseTests {
    static let valid: [String] = [
        "null", "true", "false", "0", "-0", "1", "-1", "1.5", "1e5", "1E+5", "1e-5", "-0.0e0", "123456789012345678901234567890",
        "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\uD83D\\uDE00\"", "\"é😀\"", "[]", "{}", " [ 1 , 2 ] ",
        "{\"a\":{\"b\":[null,{}]}}", "\t\r\n 7 \n",
    ]

    static let invalid: [String] = [
        "", " ", "nul", "tru", "True", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "-", "--1", "0x10", "NaN", "Infinity",
        "[1,]", "[,1]", "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "[1 2]", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\uD800\"",
        "\"\\uDC00\"", "\"\\uD800\\u0041\"", "\"a\u{0}b\"", "\"a\nb\"", "\"a\u{1F}b\"", "[1]]", "{} {}", "'a'",
    ]

    @Test(arguments: valid)
    func acceptsValid(_ text: String) throws {
        _ = try JSONValue.parse(text)
    }

    @Test(arguments: invalid)
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func decodesEscapes() throws {
        #expect(try JSONValue.parse("\"\\u00e9\\uD83D\\uDE00\\n\"") == .string("é😀\n"))
    }

    @Test func rejectsInvalidUTF8InStrictMode() throws {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                               [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0xFF]] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes) }
        }
        #expect(try JSONValue.parse([0x22, 0xE2, 0x82, 0xAC, 0x22]) == "€")
    }

    @Test func lenientModeRepairsAsTheTokenizerExpects() throws {
        #expect(try JSONValue.parse([0x22, 0xFF, 0x22], options: .lenient) == .string("\u{FFFD}"))
        #expect(try JSONValue.parse("\"\\uD800x\"", options: .lenient) == .string("\u{FFFD}x"))
        #expect(try JSONValue.parse("1.", options: .lenient).numberValue?.double == 1)
        #expect(throws: JSONParseError.self) { try JSONValue.parse("\"a\u{0}\"", options: .lenient) }
    }

    @Test func depthLimitFailsFastAt100000Levels() {
        let deep = [UInt8](repeating: 0x5B, count: 100_000) + [UInt8](repeating: 0x5D, count: 100_000)
        do {
            _ = try JSONValue.parse(deep)
            Issue.record("100,000 levels parsed")
        } catch {
            #expect(error.kind == .tooDeep)
        }
        let objects = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(objects, options: JSONParseOptions(maxDepth: 1_000_000)) }
        #expect(JSONParseOptions.maxDepthCeiling <= 1_024, "deeper recursion overflows a 512 KiB thread stack in a debug build")
    }

    @Test func depthLimitIsExact() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONValue.parse(ok)
        let over = "[" + ok + "]"
        #expect(throws: JSONParseError.self) { try JSONValue.parse(over) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse("[[1]]", options: JSONParseOptions(maxDepth: 1)) }
        _ = try JSONValue.parse("[1]", options: JSONParseOptions(maxDepth: 1))
    }

    @Test func sizeCaps() throws {
        let options = JSONParseOptions(maxStringBytes: 4, maxElements: 3)
        _ = try JSONValue.parse("[\"abcd\",2,3]", options: options)
        do { _ = try JSONValue.parse("[\"abcde\"]", options: options); Issue.record("long string accepted") } catch {
            #expect(error.kind == .tooLarge)
        }
        do { _ = try JSONValue.parse("[\"ab\\ncde\"]", options: options); Issue.record("long string accepted") } catch {
            #expect(error.kind == .tooLarge)
        }
        do { _ = try JSONValue.parse("[1,2,{\"a\":1}]", options: options); Issue.record("4 values accepted") } catch {
            #expect(error.kind == .tooLarge)
        }
    }

    @Test func objectsKeepOrderDuplicatesAndExactKeys() throws {
        let value = try JSONValue.parse("{\"b\":1,\"a\":2,\"b\":3,\"\u{3AC}\":4,\"\u{1F71}\":5}")
        #expect(value.objectValue?.map(\.0) == ["b", "a", "b", "\u{3AC}", "\u{1F71}"])
        #expect(value["b"] == 1)
        #expect(value["\u{1F71}"] == 5)
        #expect(value["\u{3AC}"] == 4)
        #expect(value["c"] == nil)
    }

    @Test func errorsGiveTheOffset() {
        do { _ = try JSONValue.parse("[1, x]"); Issue.record("parsed") } catch {
            #expect(error.offset == 4)
            #expect(error.kind == .syntax)
        }
    }
}
