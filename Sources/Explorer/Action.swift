import Detection

/// What a key press or click asks for; `apply` gives it meaning.
public enum Action: Equatable, Sendable {
    case stepForward, stepBackward
    case jumpSeconds(Double)
    case first, last
    case seek(frame: Int)
    case togglePlay
    case cycleRenderMode
    case toggleHelp
    case openPrompt
    case promptInput(Character)
    case promptBackspace
    case promptSubmit
    case promptCancel
    case repaint
    case quit
    /// A click at a cell; `apply` decides whether it lands on the timeline.
    case click(row: Int, column: Int)
    /// The decoder delivered a frame (or ticked while playing).
    case tick

    // MARK: Faces and explainers
    case nextFace
    case cycleExplainer
    case toggleOverlay
    case toggleCompare
    case toggleBorders
    case exportOverlay
    case exportAll
    /// Esc: stop the background explanation in progress (SHAP).
    case cancelWork

    // MARK: Background results (never typed; the loop turns worker output into these)
    /// The detector loaded: its name, head classes and the explainers it supports.
    case detectorReady(name: String, classes: [String], explainers: [String])
    /// New faces of scanned frames, with the scan's progress and the verdicts so far.
    case analysisUpdate(faces: [Int: [FaceMark]], status: AnalysisStatus, verdicts: VideoVerdicts?)
    case mapUpdate(MapKey, MapStatus)
    case metricsUpdate(explainer: String, track: Int, TrackMetrics)
    /// A line for the status bar (export written, export failed).
    case notify(String, isError: Bool)

    /// Whether the action comes from a worker rather than the user (it must not clear the user's message).
    var isBackground: Bool {
        switch self {
        case .tick, .detectorReady, .analysisUpdate, .mapUpdate, .metricsUpdate: return true
        default: return false
        }
    }
}

/// What the loop must do after an action.
public struct Reaction: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// Draw the screen again.
    public static let redraw = Reaction(rawValue: 1)
    /// Ask the frame provider for `currentFrame`.
    public static let fetchFrame = Reaction(rawValue: 2)
    /// Clear and repaint everything, re-sending images (Ctrl-L, closing an overlay that covered a sixel).
    public static let fullRepaint = Reaction(rawValue: 4)
    public static let quit = Reaction(rawValue: 8)
    /// The wanted heatmaps changed (frame, face, explainer or view): tell the explain worker.
    public static let requestMaps = Reaction(rawValue: 16)
    public static let exportOverlay = Reaction(rawValue: 32)
    public static let exportAll = Reaction(rawValue: 64)
    /// Cancel background explanation work in progress.
    public static let cancelWork = Reaction(rawValue: 128)
}

/// A key as the terminal reports it; the Terminal type translates ncurses key codes into these.
public enum Key: Hashable, Sendable {
    case character(Character)
    case right, left, shiftRight, shiftLeft, up, down, home, end, pageUp, pageDown, backspace, enter
}

/// The key bindings, in the conventions of mpv, htop and lazygit.
public enum KeyTable {
    /// The binding list shown by the help overlay: keys, then what they do.
    public static let help: [(keys: String, meaning: String)] = [
        (". / →", "next frame"), (", / ←", "previous frame"), ("Shift+→ / Shift+←", "±1 second"),
        ("Home / End", "first / last frame"), ("g", "go to frame"), ("space", "play / pause"),
        ("m", "render mode (blocks, sixel, ascii)"), ("Tab", "next face"), ("e", "next explainer"),
        ("o", "heatmap overlay on the frame"), ("c", "compare all explainers"), ("b", "SHAP supervoxel borders"),
        ("Esc", "cancel SHAP in progress"), ("x", "export overlay PNG"), ("X", "export compare PNG + metrics CSV"),
        ("click timeline", "seek"), ("Ctrl-L", "repaint"), ("?", "this help"), ("q", "quit"),
    ]

    /// Maps a key to an action in normal mode (no prompt open).
    static func action(for key: Key) -> Action? {
        switch key {
        case .character("."), .character("l"): return .stepForward
        case .character(","), .character("h"): return .stepBackward
        case .character(" "): return .togglePlay
        case .character("g"), .character(":"): return .openPrompt
        case .character("m"): return .cycleRenderMode
        case .character("?"): return .toggleHelp
        case .character("q"), .character("Q"): return .quit
        case .character("\u{0C}"): return .repaint
        case .character("\t"): return .nextFace
        case .character("e"): return .cycleExplainer
        case .character("o"): return .toggleOverlay
        case .character("c"): return .toggleCompare
        case .character("b"): return .toggleBorders
        case .character("x"): return .exportOverlay
        case .character("X"): return .exportAll
        case .character("\u{1B}"): return .cancelWork
        case .character("L"): return .jumpSeconds(1)
        case .character("H"): return .jumpSeconds(-1)
        case .right: return .stepForward
        case .left: return .stepBackward
        case .shiftRight: return .jumpSeconds(1)
        case .shiftLeft: return .jumpSeconds(-1)
        case .home: return .first
        case .end: return .last
        case .pageDown: return .jumpSeconds(10)
        case .pageUp: return .jumpSeconds(-10)
        default: return nil
        }
    }

    /// Maps a key while the go-to prompt is open.
    static func promptAction(for key: Key) -> Action? {
        switch key {
        case .character("\n"), .character("\r"): return .promptSubmit
        case .character("\u{1B}"): return .promptCancel
        case .character("\u{7F}"), .character("\u{08}"): return .promptBackspace
        case .backspace: return .promptBackspace
        case .enter: return .promptSubmit
        case .character(let ch) where ch.isASCII && (ch.isNumber || ch == "s" || ch == "."): return .promptInput(ch)
        default: return nil
        }
    }
}
