import Foundation
import LoraJSON
import Testing
@testable import LoraTokenizer

/// Normalizers and pre-tokenizers the fixtures do not use, against outputs of the `tokenizers` library 0.23.3
/// (`normalize_str` / `pre_tokenize_str` on the same component JSON), recorded below.
@Suite
struct ComponentTests {
    /// One line per check: [kind, component JSON, input, expected output].
    static let reference = #"""
["pre_tokenizer", "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["▁Hello,", "▁", "▁wörld!", "▁It's", "▁2026-11-30\tok?\nÀB", "▁ﬁ", "▁Ⅻ", "▁", "▁"]]
["pre_tokenizer", "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"always\", \"split\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["▁Hello,▁▁wörld!▁It's▁2026-11-30\tok?\nÀB▁ﬁ▁Ⅻ▁▁"]]
["pre_tokenizer", "{\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"never\", \"split\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", "▁", "▁wörld!", "▁It's", "▁2026-11-30\tok?\nÀB", "▁ﬁ", "▁Ⅻ", "▁", "▁"]]
["pre_tokenizer", "{\"type\": \"Whitespace\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello", ",", "wörld", "!", "It", "'", "s", "2026", "-", "11", "-", "30", "ok", "?", "ÀB", "ﬁ", "Ⅻ"]]
["pre_tokenizer", "{\"type\": \"WhitespaceSplit\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", "wörld!", "It's", "2026-11-30", "ok?", "ÀB", "ﬁ", "Ⅻ"]]
["pre_tokenizer", "{\"type\": \"Punctuation\", \"behavior\": \"Isolated\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello", ",", "  wörld", "!", " It", "'", "s 2026", "-", "11", "-", "30\tok", "?", "\nÀB ﬁ Ⅻ  "]]
["pre_tokenizer", "{\"type\": \"Punctuation\", \"behavior\": \"Contiguous\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello", ",", "  wörld", "!", " It", "'", "s 2026", "-", "11", "-", "30\tok", "?", "\nÀB ﬁ Ⅻ  "]]
["pre_tokenizer", "{\"type\": \"Digits\", \"individual_digits\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,  wörld! It's ", "2026", "-", "11", "-", "30", "\tok?\nÀB ﬁ ", "Ⅻ", "  "]]
["pre_tokenizer", "{\"type\": \"Digits\", \"individual_digits\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,  wörld! It's ", "2", "0", "2", "6", "-", "1", "1", "-", "3", "0", "\tok?\nÀB ﬁ ", "Ⅻ", "  "]]
["pre_tokenizer", "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["ĠHello", ",", "Ġ", "ĠwÃ¶rld", "!", "ĠIt", "'s", "Ġ2026", "-", "11", "-", "30", "ĉ", "ok", "?", "Ċ", "ÃĢB", "Ġï¬ģ", "Ġâħ«", "ĠĠ"]]
["pre_tokenizer", "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"WhitespaceSplit\"}, {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": false}]}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["ĠHello,", "ĠwÃ¶rld!", "ĠIt's", "Ġ2026-11-30", "Ġok?", "ĠÃĢB", "Ġï¬ģ", "Ġâħ«"]]
["pre_tokenizer", "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Punctuation\", \"behavior\": \"Isolated\"}, {\"type\": \"Metaspace\", \"replacement\": \"▁\", \"prepend_scheme\": \"first\", \"split\": true}]}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["▁Hello", ",", "▁", "▁wörld", "!", "▁It", "'", "s", "▁2026", "-", "11", "-", "30\tok", "?", "\nÀB", "▁ﬁ", "▁Ⅻ", "▁", "▁"]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Removed\", \"invert\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", "wörld!", "It's", "2026-11-30\tok?\nÀB", "ﬁ", "Ⅻ"]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Isolated\", \"invert\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", " ", " ", "wörld!", " ", "It's", " ", "2026-11-30\tok?\nÀB", " ", "ﬁ", " ", "Ⅻ", " ", " "]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"MergedWithPrevious\", \"invert\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello, ", " ", "wörld! ", "It's ", "2026-11-30\tok?\nÀB ", "ﬁ ", "Ⅻ ", " "]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"MergedWithNext\", \"invert\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", " ", " wörld!", " It's", " 2026-11-30\tok?\nÀB", " ﬁ", " Ⅻ", " ", " "]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Contiguous\", \"invert\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", "  ", "wörld!", " ", "It's", " ", "2026-11-30\tok?\nÀB", " ", "ﬁ", " ", "Ⅻ", "  "]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\d+|\\\\s\"}, \"behavior\": \"MergedWithNext\", \"invert\": false}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello,", " ", " wörld!", " It's", " ", "2026-", "11-", "30", "\tok?", "\nÀB", " ﬁ", " Ⅻ", " ", " "]]
["pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\p{L}+\"}, \"behavior\": \"Removed\", \"invert\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  ", ["Hello", "wörld", "It", "s", "ok", "ÀB", "ﬁ"]]
["normalizer", "{\"type\": \"NFC\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ"]
["normalizer", "{\"type\": \"NFD\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ"]
["normalizer", "{\"type\": \"NFKC\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "Hello,  wörld! It's 2026-11-30\tok?\nÀB fi XII  é ṩ İ"]
["normalizer", "{\"type\": \"NFKD\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "Hello,  wörld! It's 2026-11-30\tok?\nÀB fi XII  é ṩ İ"]
["normalizer", "{\"type\": \"Lowercase\"}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "hello,  wörld! it's 2026-11-30\tok?\nàb ﬁ ⅻ  é ẛ̣ i̇"]
["normalizer", "{\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ"]
["normalizer", "{\"type\": \"Strip\", \"strip_left\": false, \"strip_right\": true}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ"]
["normalizer", "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, {\"type\": \"Lowercase\"}, {\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, \"content\": \" \"}, {\"type\": \"Prepend\", \"prepend\": \"_\"}]}", "Hello,  wörld! It's 2026-11-30\tok?\nÀB ﬁ Ⅻ  é ẛ̣ İ", "_hello, wörld! it's 2026-11-30 ok? àb fi xii é ṩ i̇"]
"""#

    struct Check: Sendable, CustomTestStringConvertible {
        let kind: String
        let component: String
        let input: String
        let expected: JSONValue
        var testDescription: String { component }
    }

    static let checks: [Check] = reference.split(separator: "\n").compactMap { line in
        guard case .array(let f)? = try? JSONValue.parse(Array(line.utf8), options: .lenient), f.count == 4,
              case .string(let kind) = f[0], case .string(let component) = f[1], case .string(let input) = f[2]
        else { return nil }
        return Check(kind: kind, component: component, input: input, expected: f[3])
    }

    @Test("the reference table parses")
    func tableParses() {
        #expect(Self.checks.count == Self.reference.split(separator: "\n").count)
        #expect(Self.checks.count >= 27)
    }

    @Test("same output as the tokenizers library", arguments: checks)
    func matchesReference(check: Check) throws {
        let node = try JSONNode(value: JSONValue.parse(Array(check.component.utf8), options: .lenient), path: check.kind, file: "test")
        if check.kind == "normalizer" {
            guard case .string(let expected) = check.expected else { Issue.record("bad expectation"); return }
            let out = try Normalizer.parse(node).normalize(Array(check.input.utf8))
            #expect(String(decoding: out, as: UTF8.self) == expected)
        } else {
            guard case .array(let items) = check.expected else { Issue.record("bad expectation"); return }
            let expected = items.compactMap { item -> String? in
                if case .string(let s) = item { return s } else { return nil }
            }
            let pieces = try PreTokenizer.parse(node)
                .preTokenize([TextPiece(bytes: Array(check.input.utf8), startsAtOrigin: true)])
            #expect(pieces.map { String(decoding: $0.bytes, as: UTF8.self) } == expected)
        }
    }
}
