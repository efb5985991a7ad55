import Testing

@Test func neuralTargetBuilds() { #expect(Bool(true)) }
