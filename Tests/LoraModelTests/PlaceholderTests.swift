import Testing
@testable import LoraModel

@Test func moduleLinks() { #expect(Bool(true)) }
