import Testing
@testable import LoraTokenizer

@Test func moduleLinks() { #expect(Bool(true)) }
