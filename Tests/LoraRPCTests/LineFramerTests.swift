import Testing
@testable import LoraRPC

@Suite struct LineFramerTests {
    private func lines(_ framer: inout LineFramer) -> [LineFramer.Event] {
        var events: [LineFramer.Event] = []
        while let event = framer.next() { events.append(event) }
        return events
    }

    @Test func splitsLinesAndDropsCarriageReturns() {
        var framer = LineFramer(maxMessageBytes: 100)
        framer.append(Array("ab\ncd\r\n\nef".utf8))
        #expect(lines(&framer) == [.line(Array("ab".utf8)), .line(Array("cd".utf8)), .line([])])
        framer.append(Array("\n".utf8))
        #expect(lines(&framer) == [.line(Array("ef".utf8))])
        #expect(framer.bufferedByteCount == 0)
    }

    @Test func byteAtATimeAndRandomSplitsGiveTheSameLines() {
        let text = Array("{\"a\":1}\r\n{\"b\":[1,2,3]}\nxyz\n".utf8)
        var whole = LineFramer(maxMessageBytes: 100)
        whole.append(text)
        let expected = lines(&whole)
        #expect(expected.count == 3)
        var single = LineFramer(maxMessageBytes: 100)
        var got: [LineFramer.Event] = []
        for byte in text {
            single.append([byte])
            got += lines(&single)
        }
        #expect(got == expected)
        for _ in 0..<50 {
            var framer = LineFramer(maxMessageBytes: 100)
            var events: [LineFramer.Event] = []
            var i = 0
            while i < text.count {
                let n = Int.random(in: 1...7)
                framer.append(text[i..<min(text.count, i + n)])
                events += lines(&framer)
                i += n
            }
            #expect(events == expected)
        }
    }

    @Test func oversizeIsReportedOnceWithOrWithoutANewline() {
        var framer = LineFramer(maxMessageBytes: 4)
        framer.append(Array("abcd\r\n".utf8))
        #expect(lines(&framer) == [.line(Array("abcd".utf8))])
        framer.append(Array("abcde\n".utf8))
        #expect(lines(&framer) == [.oversize])
        framer.append(Array("ok\n".utf8))
        #expect(lines(&framer) == [])
        #expect(framer.hasFailed)

        var unterminated = LineFramer(maxMessageBytes: 4)
        unterminated.append(Array("abcdefgh".utf8))
        #expect(lines(&unterminated) == [.oversize])
    }
}
