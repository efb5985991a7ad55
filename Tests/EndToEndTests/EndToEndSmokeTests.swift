import Testing

@Test func endtoendTargetBuilds() { #expect(Bool(true)) }
