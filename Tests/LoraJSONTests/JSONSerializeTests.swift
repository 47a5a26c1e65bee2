import LoraJSON
import Testing

/// The writer: compact, ordered, escaped, one line; parse(serialize(x)) == x.
@Suite
struct JSONSerializeTests {
    @Test func compactAndOrdered() {
        let value: JSONValue = ["z": 1, "a": [true, false, nil, 1.5, "s"], "m": [:]]
        #expect(value.serializedString == #"{"z":1,"a":[true,false,null,1.5,"s"],"m":{}}"#)
    }

    @Test func escapesControlCharactersQuotesAndBackslashes() {
        let value = JSONValue("a\"b\\c\nd\re\tf\u{8}\u{C}\u{0}\u{1F}\u{7F}é\u{2028}😀")
        #expect(value.serializedString == #""a\"b\\c\nd\re\tf\b\f\u0000\u001f"# + "\u{7F}é\u{2028}😀\"")
        #expect(!value.serialized().contains(0x0A))
    }

    @Test func roundTrips() throws {
        let texts = [
            #"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":42,"subtrahend":23},"id":"1"}"#,
            #"[1,-2.5e10,"\u0000x",{"":null},[[[]]],{"a":{"b":{"c":"\ud83d\ude00"}}}]"#,
            "\"\u{FEFF}\u{3AC}\u{1F71}\"",
        ]
        for text in texts {
            let value = try JSONValue.parse(text)
            let again = try JSONValue.parse(value.serialized())
            #expect(again == value)
            #expect(again.serialized() == value.serialized())
        }
    }

    @Test func everyByteStringRoundTrips() throws {
        var s = ""
        for v in 0..<0x250 { if let scalar = Unicode.Scalar(v) { s.unicodeScalars.append(scalar) } }
        let value = JSONValue(s)
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(!value.serialized().contains(0x0A))
    }

    @Test func accessors() throws {
        let value = try JSONValue.parse(#"{"s":"x","b":true,"a":[1],"o":{"k":null},"n":7}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["b"]?.boolValue == true)
        #expect(value["a"]?.arrayValue == [1])
        #expect(value["o"]?.objectValue?.first?.0 == "k")
        #expect(value["o"]?["k"]?.isNull == true)
        #expect(value["n"]?.numberValue?.int == 7)
        #expect(value["s"]?.boolValue == nil)
        #expect(JSONValue.int(3) == 3)
    }
}
