import Testing

@Test func explorerTargetBuilds() { #expect(Bool(true)) }
