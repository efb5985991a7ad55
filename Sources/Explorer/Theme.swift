/// A colour of the terminal's basic palette, or the terminal's own default.
enum ThemeColor: Int32 {
    case terminalDefault = -1, black = 0, red, green, yellow, blue, magenta, cyan, white
}

/// How a role looks: colours when the terminal has them, and attributes that still read without colour.
struct RoleStyle {
    var foreground: ThemeColor
    var background: ThemeColor
    var bold = false
    var reverse = false
    var dim = false
}

/// The one place that turns roles into looks (htop's ColorElements).
enum Theme {
    static func style(_ role: Role) -> RoleStyle {
        switch role {
        case .normal, .panelText: return RoleStyle(foreground: .terminalDefault, background: .terminalDefault)
        case .dim: return RoleStyle(foreground: .terminalDefault, background: .terminalDefault, dim: true)
        case .title: return RoleStyle(foreground: .cyan, background: .terminalDefault, bold: true)
        case .statusBar: return RoleStyle(foreground: .black, background: .cyan, reverse: false)
        case .statusError: return RoleStyle(foreground: .white, background: .red, bold: true)
        case .statusAccent: return RoleStyle(foreground: .black, background: .yellow)
        case .timelineBar: return RoleStyle(foreground: .blue, background: .terminalDefault)
        case .timelineCursor: return RoleStyle(foreground: .yellow, background: .terminalDefault, bold: true)
        case .timelineCurve: return RoleStyle(foreground: .cyan, background: .terminalDefault)
        case .threshold: return RoleStyle(foreground: .magenta, background: .terminalDefault)
        case .helpBox: return RoleStyle(foreground: .white, background: .blue)
        case .helpKey: return RoleStyle(foreground: .yellow, background: .blue, bold: true)
        case .prompt: return RoleStyle(foreground: .black, background: .yellow, bold: true)
        case .faceBox: return RoleStyle(foreground: .green, background: .terminalDefault)
        case .faceSelected: return RoleStyle(foreground: .yellow, background: .terminalDefault, bold: true)
        case .scoreFake: return RoleStyle(foreground: .red, background: .terminalDefault, bold: true)
        case .scoreReal: return RoleStyle(foreground: .green, background: .terminalDefault)
        }
    }

    /// Without colour (NO_COLOR or a monochrome terminal) the bars stand out by reverse video instead.
    static func monochromeReverse(_ role: Role) -> Bool {
        switch role {
        case .statusBar, .statusError, .statusAccent, .helpBox, .helpKey, .prompt, .timelineCursor: return true
        default: return false
        }
    }
}
