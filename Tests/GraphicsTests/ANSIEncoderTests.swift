// ANSI encoding structure at each colour depth, and nearest-colour matching against brute force.
import Media
import Testing
@testable import Graphics

private let esc = "\u{1B}"

private func grid(_ rows: [[Cell]]) -> CellGrid {
    CellGrid(columns: rows[0].count, rows: rows.count, cells: rows.flatMap { $0 })
}

@Test func directColourEmitsOnlyOnChangeAndResetsEachLine() {
    let red = RGB(255, 0, 0), blue = RGB(0, 0, 255)
    let g = grid([
        [Cell(character: "▀", foreground: red, background: blue), Cell(character: "▀", foreground: red, background: blue),
         Cell(character: "▀", foreground: blue, background: blue)],
        [Cell(character: "a"), Cell(character: "b", foreground: red), Cell(character: "c")],
    ])
    let text = ANSIEncoder.encode(g, capabilities: TerminalCapabilities(colorDepth: .direct))
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 3 && lines[2].isEmpty, "one line per row, final newline")
    #expect(lines[0] == "\(esc)[38;2;255;0;0;48;2;0;0;255m▀▀\(esc)[38;2;0;0;255m▀\(esc)[0m")
    // Back to the default foreground with 39 after a coloured cell; reset at the line end.
    #expect(lines[1] == "a\(esc)[38;2;255;0;0mb\(esc)[39mc\(esc)[0m")
}

@Test func lineWithoutColourHasNoSequences() {
    let g = grid([[Cell(character: "x"), Cell(character: "y")]])
    #expect(ANSIEncoder.encode(g, capabilities: TerminalCapabilities(colorDepth: .direct)) == "xy\n")
}

@Test func noColorGivesPlainCharacters() {
    let image = horizontalGradient(width: 64, height: 32)
    let blocks = CellGrid.blocks(image, columns: 16, rows: 4)
    let text = ANSIEncoder.encode(blocks, capabilities: TerminalCapabilities(colorDepth: .none))
    #expect(!text.contains(esc))
    #expect(text == String(repeating: String(repeating: "▀", count: 16) + "\n", count: 4))
}

@Test func palette256UsesNearestIndexes() {
    let g = grid([[Cell(character: "▀", foreground: RGB(250, 10, 10), background: RGB(128, 128, 128))]])
    let text = ANSIEncoder.encode(g, capabilities: TerminalCapabilities(colorDepth: .palette256))
    #expect(text == "\(esc)[38;5;196;48;5;244m▀\(esc)[0m\n")
    let ansi = ANSIEncoder.encode(g, capabilities: TerminalCapabilities(colorDepth: .ansi16))
    #expect(ansi == "\(esc)[91;100m▀\(esc)[0m\n")
}

@Test func sequenceCountFollowsColourChanges() {
    // A 2-colour gradient image in blocks: the number of SGR sequences per line is the number of colour changes.
    let rgbRow: [Cell] = (0..<30).map { Cell(character: "▀", foreground: $0 < 10 ? RGB(0, 0, 0) : RGB(255, 255, 255), background: RGB(0, 0, 0)) }
    let text = ANSIEncoder.encode(grid([rgbRow]), capabilities: TerminalCapabilities(colorDepth: .direct))
    #expect(text.components(separatedBy: "\(esc)[").count - 1 == 3)  // initial, one change, reset
}

// MARK: - Nearest colours

@Test func nearestXterm256MatchesBruteForce() {
    var generator = SplitMix64(seed: 256)
    var samples = (0..<3000).map { _ in RGB(.random(in: 0...255, using: &generator), .random(in: 0...255, using: &generator), .random(in: 0...255, using: &generator)) }
    samples += (0...255).map { RGB(UInt8($0), UInt8($0), UInt8($0)) }
    for c in samples {
        let best = (16...255).map { XTermPalette.distance(c, XTermPalette.color(UInt8($0))) }.min()!
        let chosen = XTermPalette.nearestIndex(c)
        #expect(chosen >= 16)
        #expect(XTermPalette.distance(c, XTermPalette.color(chosen)) == best, "\(c) → \(chosen)")
    }
    // Palette entries map to themselves (cube) or to an equally near entry.
    #expect(XTermPalette.nearestIndex(RGB(95, 135, 175)) == 16 + 36 * 1 + 6 * 2 + 3)
    #expect(XTermPalette.nearestIndex(RGB(8, 8, 8)) == 232)
    #expect(XTermPalette.color(231) == RGB(255, 255, 255) && XTermPalette.color(255) == RGB(238, 238, 238))
}

@Test func nearestANSI16MatchesBruteForce() {
    for v in stride(from: 0, through: 255, by: 17) {
        let c = RGB(UInt8(v), UInt8(255 - v), UInt8(v / 2))
        let best = (0..<16).map { XTermPalette.distance(c, XTermPalette.color(UInt8($0))) }.min()!
        #expect(XTermPalette.distance(c, XTermPalette.color(XTermPalette.nearestANSI16(c))) == best)
    }
}
