// What the terminal can draw — colour depth, sixel, cell size, tmux — decided by a pure function of its answers.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a terminal can show, the input to every encoder.
///
/// ```swift
/// let caps = TerminalCapabilities.detect(environment: ProcessInfo.processInfo.environment,
///                                        terminfoColors: Int(tigetnum("colors")),
///                                        da1: TerminalCapabilities.queryDA1(timeout: 0.2))
/// ```
public struct TerminalCapabilities: Sendable, Equatable {
    /// How many colours the terminal draws, from none to 24-bit.
    public enum ColorDepth: Int, Sendable, Comparable, CaseIterable {
        /// No colour at all (`NO_COLOR` is set, or a dumb terminal).
        case none
        /// The 16 ANSI colours.
        case ansi16
        /// xterm's 256 colours: 16 ANSI, a 6×6×6 cube and a 24-step grey ramp.
        case palette256
        /// 24-bit colour through SGR 38;2 / 48;2.
        case direct

        /// Fewer colours orders first.
        public static func < (a: ColorDepth, b: ColorDepth) -> Bool { a.rawValue < b.rawValue }
    }

    /// The cell size assumed when the terminal does not say (a common 10×20 px font).
    public static let defaultCellSize = (width: 10, height: 20)

    /// The colour depth.
    public var colorDepth: ColorDepth
    /// Whether the terminal draws DEC sixel graphics.
    public var sixel: Bool
    /// The cell width in pixels when the terminal reported it.
    public var reportedCellWidth: Int?
    /// The cell height in pixels when the terminal reported it.
    public var reportedCellHeight: Int?
    /// Whether we run inside tmux (which forwards sixel only when built with it).
    public var insideTmux: Bool

    /// A capabilities value from its parts.
    public init(colorDepth: ColorDepth, sixel: Bool = false, cellWidth: Int? = nil, cellHeight: Int? = nil,
                insideTmux: Bool = false) {
        self.colorDepth = colorDepth
        self.sixel = sixel
        self.reportedCellWidth = cellWidth
        self.reportedCellHeight = cellHeight
        self.insideTmux = insideTmux
    }

    /// The cell width in pixels for sizing sixel images: reported, else 10.
    public var cellWidth: Int { reportedCellWidth ?? Self.defaultCellSize.width }
    /// The cell height in pixels for sizing sixel images: reported, else 20.
    public var cellHeight: Int { reportedCellHeight ?? Self.defaultCellSize.height }

    // MARK: - Detection

    /// Decides the capabilities from the environment and the terminal's answers, touching nothing else.
    /// - Parameters:
    ///   - environment: the process environment (`NO_COLOR`, `COLORTERM`, `TERM`, `TMUX`).
    ///   - terminfoColors: terminfo's `colors` number, when known (`tigetnum("colors")`).
    ///   - da1: the parameters of the Primary Device Attributes reply, when the terminal answered.
    ///   - cellSize: the cell size in pixels, when the terminal answered `queryCellSize`.
    public static func detect(environment: [String: String], terminfoColors: Int?, da1: [Int]?,
                              cellSize: (width: Int, height: Int)? = nil) -> TerminalCapabilities {
        let term = environment["TERM"] ?? ""
        let insideTmux = !(environment["TMUX"] ?? "").isEmpty || term.hasPrefix("tmux")
        // DA1 is answered by the innermost terminal: tmux itself, which lists 4 only when built with sixel.
        // So inside tmux an outer terminal's sixel support is never taken for tmux's.
        let sixel = da1?.contains(4) ?? false
        return TerminalCapabilities(colorDepth: colorDepth(environment: environment, term: term,
                                                           terminfoColors: terminfoColors),
                                    sixel: sixel, cellWidth: cellSize?.width, cellHeight: cellSize?.height,
                                    insideTmux: insideTmux)
    }

    private static func colorDepth(environment: [String: String], term: String, terminfoColors: Int?) -> ColorDepth {
        // no-color.org: any non-empty value disables colour, whatever else the terminal claims.
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .none }
        let colorTerm = (environment["COLORTERM"] ?? "").lowercased()
        if colorTerm == "truecolor" || colorTerm == "24bit" { return .direct }
        if let colors = terminfoColors {
            if colors >= 1 << 24 { return .direct }
            if colors >= 256 { return .palette256 }
            if colors >= 8 { return .ansi16 }
            return .none
        }
        if term.isEmpty || term == "dumb" { return .none }
        if term.hasSuffix("-direct") { return .direct }
        if term.contains("256color") { return .palette256 }
        return .ansi16
    }
}
