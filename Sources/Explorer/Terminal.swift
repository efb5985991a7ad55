import CNcursesw
import Foundation
import Graphics

/// What the terminal reported since the last poll.
enum TerminalInput: Equatable {
    case key(Key)
    case click(row: Int, column: Int)
    case resize
}

/// Set from signal handlers; the loop polls it and leaves through the normal, restoring path.
nonisolated(unsafe) private var pendingSignal: Int32 = 0
/// Whether curses is active, so that an exit path that skips `restore()` still ends it (atexit).
nonisolated(unsafe) private var cursesActive = false

/// The only type that touches ncurses: draws `Screen`s, reads keys and clicks, and always restores the terminal.
final class Terminal {
    private let screen: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let hasColor: Bool
    private let directColor: Bool
    private let colorCount: Int
    private var restored = false
    /// Whether the locale's character set is UTF-8; if not, curses cannot show half blocks or line drawing, and
    /// `draw` substitutes ASCII for every non-ASCII character.
    let unicode: Bool

    /// Starts curses on the controlling terminal. Throws (leaving the terminal untouched) when it cannot.
    init(useColor: Bool) throws {
        setlocale(LC_ALL, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET))).lowercased()
        unicode = codeset == "utf-8" || codeset == "utf8"
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw ExplorerError.notATerminal
        }
        guard let s = newterm(nil, ds_stdout(), ds_stdin()) else {
            throw ExplorerError.terminalSetup("TERM='\(ProcessInfo.processInfo.environment["TERM"] ?? "")' is not a known terminal type")
        }
        screen = s
        set_term(s)
        window = ds_stdscr()
        cursesActive = true
        atexit { if cursesActive { endwin() } }
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] { signal(sig) { pendingSignal = $0 } }
        cbreak()
        noecho()
        nonl()
        keypad(window, true)
        set_escdelay(25)
        curs_set(0)
        mousemask(ds_button1_pressed() | ds_button1_clicked(), nil)
        mouseinterval(0)
        var colored = false, count = 0, direct = false
        if useColor, has_color_ok() {
            start_color()
            use_default_colors()
            colored = true
            count = Int(ds_colors())
            direct = tigetflag("RGB") > 0 || count >= 1 << 24
        }
        hasColor = colored
        colorCount = count
        directColor = direct
    }

    deinit { restore() }

    /// The colour count the terminfo entry declares (2^24 for direct colour), or nil without colour.
    var terminfoColors: Int? { hasColor ? (directColor ? 1 << 24 : colorCount) : nil }

    /// The pending SIGINT/SIGTERM/SIGHUP, if one arrived.
    var receivedSignal: Int32? { pendingSignal == 0 ? nil : pendingSignal }

    var size: (rows: Int, columns: Int) {
        var rows: Int32 = 0, columns: Int32 = 0
        ds_getmaxyx(window, &rows, &columns)
        return (Int(rows), Int(columns))
    }

    /// Waits up to `milliseconds` for input.
    func poll(milliseconds: Int32) -> TerminalInput? {
        wtimeout(window, milliseconds)
        var value: wint_t = 0
        let result = wget_wch(window, &value)
        if result == ds_err() { return nil }
        if result == ds_key_code_yes() {
            let code = Int32(value)
            switch code {
            case ds_key_resize(): return .resize
            case ds_key_mouse():
                var event = MEVENT()
                guard getmouse(&event) == ds_ok() else { return nil }
                return .click(row: Int(event.y), column: Int(event.x))
            case ds_key_right(): return .key(.right)
            case ds_key_left(): return .key(.left)
            case ds_key_sright(): return .key(.shiftRight)
            case ds_key_sleft(): return .key(.shiftLeft)
            case ds_key_up(): return .key(.up)
            case ds_key_down(): return .key(.down)
            case ds_key_home(): return .key(.home)
            case ds_key_end(): return .key(.end)
            case ds_key_npage(): return .key(.pageDown)
            case ds_key_ppage(): return .key(.pageUp)
            case ds_key_backspace(): return .key(.backspace)
            case ds_key_enter(): return .key(.enter)
            default: return nil
            }
        }
        guard let scalar = Unicode.Scalar(UInt32(value)) else { return nil }
        return .key(.character(Character(scalar)))
    }

    /// Draws a screen; `full` clears first (resize, Ctrl-L, closing an overlay) so that images are re-sent cleanly.
    func draw(_ screen: Screen, full: Bool) {
        if full { clearok(ds_curscr(), true) }
        var cell = cchar_t()
        var wide: [wchar_t] = [0, 0]
        for row in 0..<screen.rows {
            for column in 0..<screen.columns {
                // Writing the bottom-right cell would scroll some terminals; curses handles it, but skip it anyway.
                if row == screen.rows - 1 && column == screen.columns - 1 { continue }
                let c = screen[row, column]
                var scalar = c.character.unicodeScalars.first?.value ?? 32
                if !unicode && scalar > 126 { scalar = asciiFallback(scalar) }
                wide[0] = wchar_t(bitPattern: scalar)
                var (attributes, pair) = look(of: c)
                setcchar(&cell, wide, attributes, 0, &pair)
                mvwadd_wch(window, Int32(row), Int32(column), &cell)
            }
        }
        if let cursor = screen.cursor {
            curs_set(1)
            wmove(window, Int32(cursor.row), Int32(cursor.column))
        } else {
            curs_set(0)
        }
        wnoutrefresh(window)
        doupdate()
        guard !screen.images.isEmpty else { return }
        // Sixel beside curses: draw curses first, then each image at its cell with the cursor saved and restored.
        var out = ""
        for image in screen.images {
            out += "\u{1B}7\u{1B}[\(image.row + 1);\(image.column + 1)H" + image.sixel + "\u{1B}8"
        }
        fflush(ds_stdout())
        writeAll(out)
    }

    /// Ends curses and puts the terminal back as it was; safe to call more than once.
    func restore() {
        guard !restored else { return }
        restored = true
        endwin()
        delscreen(screen)
        cursesActive = false
        fflush(ds_stdout())
    }

    // MARK: - Colours

    private func look(of cell: ScreenCell) -> (attr_t, Int32) {
        if cell.foreground == nil, let background = cell.background, cell.role != .normal {
            // A themed mark (a face box edge) over image pixels: the role's colour on the pixel's colour.
            let style = Theme.style(cell.role)
            guard hasColor else { return (ds_a_bold(), 0) }
            return (style.bold ? ds_a_bold() : ds_a_normal(), alloc_pair(style.foreground.rawValue, paletteColor(background)))
        }
        if cell.foreground != nil || cell.background != nil {
            guard hasColor else { return (ds_a_normal(), 0) }
            return (ds_a_normal(), alloc_pair(paletteColor(cell.foreground), paletteColor(cell.background)))
        }
        let style = Theme.style(cell.role)
        var attributes = ds_a_normal()
        if style.bold { attributes |= ds_a_bold() }
        if style.dim { attributes |= ds_a_dim() }
        if style.reverse || (!hasColor && Theme.monochromeReverse(cell.role)) { attributes |= ds_a_reverse() }
        guard hasColor else { return (attributes, 0) }
        return (attributes, alloc_pair(style.foreground.rawValue, style.background.rawValue))
    }

    /// A colour number for this terminal: the RGB value itself with direct colour, else the nearest palette entry.
    private func paletteColor(_ rgb: RGB?) -> Int32 {
        guard let rgb else { return -1 }
        if directColor { return Int32(rgb.r) << 16 | Int32(rgb.g) << 8 | Int32(rgb.b) }
        if colorCount >= 256 { return Int32(XTermPalette.nearestIndex(rgb)) }
        if colorCount >= 16 { return Int32(XTermPalette.nearestANSI16(rgb)) }
        return nearestANSI8(rgb)
    }

    /// The nearest of the eight basic colours (xterm's values): folding the bright half of 16 onto 8 by number
    /// would turn grey into black.
    private func nearestANSI8(_ rgb: RGB) -> Int32 {
        let basic: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
                                        (0, 205, 205), (229, 229, 229)]
        var best = 0, bestDistance = Int.max
        for (i, c) in basic.enumerated() {
            let dr = Int(rgb.r) - c.0, dg = Int(rgb.g) - c.1, db = Int(rgb.b) - c.2
            let d = dr * dr + dg * dg + db * db
            if d < bestDistance { bestDistance = d; best = i }
        }
        return Int32(best)
    }
}

private func has_color_ok() -> Bool { has_colors() }

/// Writes all of a string to standard output, past curses' buffer (which was flushed first).
private func writeAll(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 {
            if n < 0 && errno == EINTR { continue }
            return
        }
        offset += n
    }
}

/// Explorer failures shown to the user.
public enum ExplorerError: Error, CustomStringConvertible {
    case notATerminal
    case terminalSetup(String)

    public var description: String {
        switch self {
        case .notATerminal: return "explore needs an interactive terminal (stdin and stdout must be a tty)"
        case .terminalSetup(let why): return "cannot start the terminal: \(why)"
        }
    }
}

/// An ASCII stand-in for a character the screen uses, for terminals in a non-UTF-8 locale.
func asciiFallback(_ scalar: UInt32) -> UInt32 {
    switch scalar {
    case 0x2502, 0x2503, 0x2551, 0x275A: return 0x7C                   // │ ┃ ║ ❚ → |
    case 0x2500, 0x2501, 0x2550, 0x2574, 0x2576, 0x2508, 0x2504: return 0x2D  // ─ ━ ═ ╴ ╶ ┈ ┄ → -
    case 0x250C, 0x2510, 0x2514, 0x2518, 0x251C, 0x2524, 0x252C, 0x2534, 0x253C: return 0x2B  // corners → +
    case 0x2581...0x2584: return 0x2E                                   // low blocks → .
    case 0x2585...0x2588, 0x2580: return 0x23                          // high and full blocks → #
    case 0x00B7, 0x2022: return 0x2E                                    // · • → .
    case 0x00D7: return 0x78                                            // × → x
    case 0x25B6: return 0x3E                                            // ▶ → >
    case 0x2026: return 0x2E                                            // … → .
    default: return 0x3F                                                // ?
    }
}
