import Testing

@Test func weightsTargetBuilds() { #expect(Bool(true)) }
