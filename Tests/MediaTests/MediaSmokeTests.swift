import Testing

@Test func mediaTargetBuilds() { #expect(Bool(true)) }
