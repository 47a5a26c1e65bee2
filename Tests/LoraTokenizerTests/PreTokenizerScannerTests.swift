import Foundation
import Testing
@testable import LoraTokenizer

/// The hand-written GPT-2 and Llama 3 scanners against ICU (`NSRegularExpression`) running the same patterns.
@Suite
struct PreTokenizerScannerTests {
    static let extra = [
        "  \n\n  x", "a \r\n\r\n b", "\u{0B}\u{85}x\u{2028}y", "it's IT'S It'Ll we'RE 'd 'x", "''s", "x\u{017F}",
        "12345678 ٣٤٥ ⅫⅫ ½", "   ", " \t", "a  ", "?!\r\n\nx", " ?!\n", "\u{A0}\u{A0}word", "日本語 abc",
        "e\u{301}e\u{301} x\u{301}", "tab\there", "end with space ", "\n", "", "a", "'", " '",
    ]

    static func lines() -> [String] {
        var lines = extra
        if Fixtures.available, let corpus = try? Fixtures.corpus() { lines += corpus }
        return lines
    }

    @Test("the scanner and ICU agree", arguments: [
        (TextPattern.gpt2, TextPattern.gpt2Pattern), (TextPattern.llama3, TextPattern.llama3Pattern),
    ])
    func agree(fast: TextPattern, pattern: String) throws {
        let icu = try RegexBox(pattern, file: "test", component: "pattern")
        let lines = Self.lines()
        #expect(lines.count > Self.extra.count || !Fixtures.available)
        for line in lines {
            let bytes = Array(line.utf8)
            #expect(fast.matches(in: bytes) == icu.matches(in: bytes), "\(line.debugDescription)")
        }
        let all = Array(lines.joined(separator: "\n").utf8)
        #expect(fast.matches(in: all) == icu.matches(in: all))
    }

    @Test("known pattern strings select the scanners")
    func recognition() throws {
        func parse(_ pattern: String) throws -> TextPattern {
            try TextPattern.parse(JSONNode(value: .object([("Regex", .string(pattern))]), path: "p", file: "f"))
        }
        guard case .gpt2 = try parse(TextPattern.gpt2Pattern) else { Issue.record("GPT-2 pattern not recognised"); return }
        guard case .llama3 = try parse(TextPattern.llama3Pattern) else { Issue.record("Llama 3 pattern not recognised"); return }
        guard case .regex = try parse("\\d+") else { Issue.record("other pattern not sent to ICU"); return }
    }
}
