import Testing

@Test func graphicsTargetBuilds() { #expect(Bool(true)) }
