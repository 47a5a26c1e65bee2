import Testing
@testable import LoraNumerics

@Test func moduleLinks() { #expect(Bool(true)) }
