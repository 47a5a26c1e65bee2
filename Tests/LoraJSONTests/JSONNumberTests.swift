import LoraJSON
import Testing

/// Numbers keep their text; integer accessors answer only for exact integers in range.
@Suite
struct JSONNumberTests {
    func number(_ text: String) throws -> JSONNumber {
        guard case .number(let n) = try JSONValue.parse(text) else { throw JSONParseError(message: "not a number", offset: 0) }
        return n
    }

    @Test func exactIntegerLimits() throws {
        #expect(try number("9223372036854775807").int64 == Int64.max)
        #expect(try number("-9223372036854775808").int64 == Int64.min)
        #expect(try number("9223372036854775808").int64 == nil)
        #expect(try number("-9223372036854775809").int64 == nil)
        #expect(try number("18446744073709551615").uint64 == UInt64.max)
        #expect(try number("18446744073709551616").uint64 == nil)
        #expect(try number("18446744073709551616").int64 == nil)
        #expect(try number("18446744073709551616").int128 == nil)
        #expect(try number("-1").uint64 == nil)
        #expect(try number("-0").uint64 == 0)
        #expect(try number("-18446744073709551615").int128 == -Int128(UInt64.max))
    }

    @Test func nonIntegersAreNotIntegers() throws {
        for text in ["1.5", "1e-1", "0.1", "1e400", "123456789012345678901234567890"] {
            #expect(try number(text).int64 == nil, "\(text)")
            #expect(try number(text).uint64 == nil, "\(text)")
        }
    }

    @Test func integralValuesInOtherNotationsCount() throws {
        #expect(try number("1e2").int64 == 100)
        #expect(try number("100.0").int64 == 100)
        #expect(try number("1.5e1").int == 15)
        #expect(try number("0.0").uint64 == 0)
        #expect(try number("0e999999999").int == 0)
        #expect(try number("1.8446744073709551615e19").uint64 == UInt64.max)
        #expect(Int32(exactly: try number("2147483648")) == nil)
        #expect(Int32(exactly: try number("2147483647")) == Int32.max)
    }

    @Test func doubles() throws {
        #expect(try number("1e400").double == nil)
        #expect(try number("-1e400").double == nil)
        #expect(try number("1.5").double == 1.5)
        #expect(try number("1e-400").double == 0)
        #expect(JSONValue.double(.nan).serializedString == "null")
        #expect(JSONValue.double(.infinity).serializedString == "null")
        #expect(JSONValue.double(0.1).serializedString == "0.1")
    }

    @Test func textIsKeptExactly() throws {
        for text in ["1.50", "1E+05", "-0", "12345678901234567890123", "2.0"] {
            #expect(try JSONValue.parse(text).serializedString == text)
        }
        #expect(JSONValue.uint64(UInt64.max).serializedString == "18446744073709551615")
        #expect(JSONValue.int64(Int64.min).serializedString == "-9223372036854775808")
    }
}
