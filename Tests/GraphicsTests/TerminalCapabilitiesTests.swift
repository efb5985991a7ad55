// Capability detection from environment and terminal replies, and the reply parsers.
import Testing
@testable import Graphics

@Test func colorDepthFromCOLORTERMTerminfoAndTERM() {
    func depth(_ env: [String: String], _ colors: Int?) -> TerminalCapabilities.ColorDepth {
        TerminalCapabilities.detect(environment: env, terminfoColors: colors, da1: nil).colorDepth
    }
    #expect(depth(["COLORTERM": "truecolor", "TERM": "xterm"], 8) == .direct)
    #expect(depth(["COLORTERM": "24bit"], nil) == .direct)
    #expect(depth(["TERM": "xterm-direct"], 1 << 24) == .direct)
    #expect(depth(["TERM": "xterm-256color"], 256) == .palette256)
    #expect(depth(["TERM": "xterm"], 8) == .ansi16)
    #expect(depth(["TERM": "xterm-256color"], nil) == .palette256)
    #expect(depth(["TERM": "dumb"], nil) == .none)
    #expect(depth(["TERM": "vt100"], -1) == .none)
}

@Test func noColorWinsWhenNonEmpty() {
    let env = ["NO_COLOR": "1", "COLORTERM": "truecolor", "TERM": "xterm-256color"]
    #expect(TerminalCapabilities.detect(environment: env, terminfoColors: 1 << 24, da1: nil).colorDepth == .none)
    // An empty NO_COLOR does not count (no-color.org).
    let empty = ["NO_COLOR": "", "COLORTERM": "truecolor"]
    #expect(TerminalCapabilities.detect(environment: empty, terminfoColors: nil, da1: nil).colorDepth == .direct)
}

@Test func sixelOnlyWhenDA1ListsFour() {
    #expect(TerminalCapabilities.detect(environment: [:], terminfoColors: 256, da1: [63, 1, 2, 4, 6, 9]).sixel)
    #expect(!TerminalCapabilities.detect(environment: [:], terminfoColors: 256, da1: [62, 22]).sixel)
    #expect(!TerminalCapabilities.detect(environment: [:], terminfoColors: 256, da1: nil).sixel)
    // Inside tmux the reply is tmux's own: without 4 there is no sixel whatever the outer terminal does.
    let tmux = TerminalCapabilities.detect(environment: ["TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color"],
                                           terminfoColors: 256, da1: [61, 22])
    #expect(tmux.insideTmux && !tmux.sixel)
    #expect(!TerminalCapabilities.detect(environment: ["TERM": "xterm"], terminfoColors: 8, da1: nil).insideTmux)
}

@Test func cellSizeDefaultsAndReported() {
    let plain = TerminalCapabilities.detect(environment: [:], terminfoColors: nil, da1: nil)
    #expect(plain.cellWidth == 10 && plain.cellHeight == 20 && plain.reportedCellWidth == nil)
    let sized = TerminalCapabilities.detect(environment: [:], terminfoColors: nil, da1: nil, cellSize: (9, 18))
    #expect(sized.cellWidth == 9 && sized.cellHeight == 18)
}

@Test func parsesDeviceAttributeReplies() {
    let esc: UInt8 = 0x1B
    #expect(TerminalCapabilities.parseDA1([esc] + Array("[?63;1;2;4;6;9;15;22c".utf8)) == [63, 1, 2, 4, 6, 9, 15, 22])
    #expect(TerminalCapabilities.parseDA1([esc] + Array("[?1;2c".utf8)) == [1, 2])
    // Stray input before the reply is skipped; malformed replies give nil.
    #expect(TerminalCapabilities.parseDA1(Array("xy".utf8) + [esc] + Array("[?62;4c".utf8)) == [62, 4])
    #expect(TerminalCapabilities.parseDA1([esc] + Array("[?63;;4c".utf8)) == nil)
    #expect(TerminalCapabilities.parseDA1([esc] + Array("[?63;4".utf8)) == nil)
    #expect(TerminalCapabilities.parseDA1(Array("63;4c".utf8)) == nil)
    #expect(TerminalCapabilities.parseDA1([]) == nil)
}

@Test func parsesCellSizeReplies() {
    let esc: UInt8 = 0x1B
    let size = TerminalCapabilities.parseCellSize([esc] + Array("[6;20;10t".utf8))
    #expect(size?.width == 10 && size?.height == 20)
    #expect(TerminalCapabilities.parseCellSize([esc] + Array("[4;600;800t".utf8)) == nil)
    #expect(TerminalCapabilities.parseCellSize([esc] + Array("[6;0;10t".utf8)) == nil)
    #expect(TerminalCapabilities.parseCellSize([esc] + Array("[6;20t".utf8)) == nil)
}
