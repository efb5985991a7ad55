import Testing

@Test func modelsTargetBuilds() { #expect(Bool(true)) }
