// Encodes cell grids as text with SGR colour sequences at the depth the terminal supports.

/// Turns a `CellGrid` into the bytes a terminal shows it from, one line per row.
///
/// Colours are sent as 24-bit SGR on `.direct` terminals, as the nearest xterm-256 entry on `.palette256`,
/// the nearest ANSI colour on `.ansi16`, and not at all on `.none`. A sequence is emitted only when a cell's
/// colour differs from the one before it, and every line that emitted one ends with a reset, so a line cut
/// or scrolled away never leaks colour into the next one.
///
/// ```swift
/// print(ANSIEncoder.encode(grid, capabilities: TerminalCapabilities(colorDepth: .direct)), terminator: "")
/// ```
public enum ANSIEncoder {
    /// The grid as text: rows separated by `\n`, with a final `\n`.
    public static func encode(_ grid: CellGrid, capabilities: TerminalCapabilities) -> String {
        var w = ByteWriter(capacity: grid.cells.count * (capabilities.colorDepth == .direct ? 40 : 12))
        let depth = capabilities.colorDepth
        for row in 0..<grid.rows {
            var foreground: SGRColor = .standard, background: SGRColor = .standard, coloured = false
            for column in 0..<grid.columns {
                let cell = grid.cells[row * grid.columns + column]
                if depth != .none {
                    let fg = sgrColor(cell.foreground, depth: depth), bg = sgrColor(cell.background, depth: depth)
                    if fg != foreground || bg != background {
                        EscapeSequence.writeSGR(foreground: fg != foreground ? fg : nil,
                                                background: bg != background ? bg : nil, into: &w)
                        foreground = fg
                        background = bg
                        coloured = true
                    }
                }
                w.append(cell.character)
            }
            if coloured { w.append(EscapeSequence.reset) }
            w.append(byte: UInt8(ascii: "\n"))
        }
        return w.string
    }

    /// How `color` is selected at `depth` (nil cells keep the terminal's default).
    static func sgrColor(_ color: RGB?, depth: TerminalCapabilities.ColorDepth) -> SGRColor {
        guard let color else { return .standard }
        switch depth {
        case .direct: return .direct(color)
        case .palette256: return .indexed(XTermPalette.nearestIndex(color))
        case .ansi16: return .ansi(XTermPalette.nearestANSI16(color))
        case .none: return .standard
        }
    }
}
