import Detection
import Explain
import Foundation
import Graphics

// MARK: - Placing images

/// Puts pane art into a rectangle, centred: cells are copied, a sixel becomes a screen image.
func place(_ art: FrameArt, in rect: CellRect, on screen: inout Screen) {
    switch art {
    case .cells(let grid):
        let top = rect.row + max(0, (rect.rows - grid.rows) / 2)
        let left = rect.column + max(0, (rect.columns - grid.columns) / 2)
        for r in 0..<min(grid.rows, rect.rows) {
            for c in 0..<min(grid.columns, rect.columns) {
                let cell = grid.cells[r * grid.columns + c]
                screen[top + r, left + c] = ScreenCell(cell.character, role: .normal, foreground: cell.foreground,
                                                       background: cell.background)
            }
        }
    case .sixel(let data, let columns, let rows):
        let top = rect.row + max(0, (rect.rows - rows) / 2)
        let left = rect.column + max(0, (rect.columns - columns) / 2)
        screen.images.append(ScreenImage(row: top, column: left, rows: min(rows, rect.rows),
                                         columns: min(columns, rect.columns), sixel: data))
    }
}

/// A one-row colour-bar legend: the JET map from 0 (left) to 1 (right) as cell backgrounds, labelled at the ends.
func drawColorBar(row: Int, column: Int, columns: Int, on screen: inout Screen) {
    guard columns >= 5 else { return }
    screen.put("0", row: row, column: column, role: .dim)
    let inner = columns - 4
    for i in 0..<inner {
        let (r, g, b) = ColorMap.jet.color(Float(i) / Float(max(1, inner - 1)))
        screen[row, column + 2 + i] = ScreenCell(" ", role: .normal, background: RGB(r, g, b))
    }
    screen.put("1", row: row, column: column + columns - 1, role: .dim)
}

// MARK: - Face boxes

/// Box edges and track ids over a cell-drawn frame; the selected face in its own colour.
func drawFaceBoxes(_ state: ExplorerState, grid: CellGrid, frameSize: (width: Int, height: Int), in rect: CellRect,
                   on screen: inout Screen) {
    guard frameSize.width > 0, frameSize.height > 0, grid.columns > 0, grid.rows > 0 else { return }
    let top = rect.row + max(0, (rect.rows - grid.rows) / 2)
    let left = rect.column + max(0, (rect.columns - grid.columns) / 2)
    let selected = state.selectedFace?.track
    func cellColumn(_ x: Float) -> Int { left + min(grid.columns - 1, max(0, Int(x / Float(frameSize.width) * Float(grid.columns)))) }
    func cellRow(_ y: Float) -> Int { top + min(grid.rows - 1, max(0, Int(y / Float(frameSize.height) * Float(grid.rows)))) }
    for face in state.currentFaces {
        let role: Role = face.track == selected ? .faceSelected : .faceBox
        let (c0, c1, r0, r1) = (cellColumn(face.box.x1), cellColumn(face.box.x2), cellRow(face.box.y1), cellRow(face.box.y2))
        func mark(_ r: Int, _ c: Int, _ ch: Character) {
            guard r >= rect.row, r < rect.row + rect.rows, c >= rect.column, c < rect.column + rect.columns else { return }
            let under = screen[r, c]
            screen[r, c] = ScreenCell(ch, role: role, background: under.background)
        }
        if c1 > c0 { for c in (c0 + 1)..<c1 { mark(r0, c, "─"); mark(r1, c, "─") } }
        if r1 > r0 { for r in (r0 + 1)..<r1 { mark(r, c0, "│"); mark(r, c1, "│") } }
        mark(r0, c0, "┌"); mark(r0, c1, "┐"); mark(r1, c0, "└"); mark(r1, c1, "┘")
        // The id sits on the top edge, so it never leaves the frame pane.
        for (i, ch) in "#\(face.track)".enumerated() where c0 + 1 + i < c1 { mark(r0, c0 + 1 + i, ch) }
    }
}

// MARK: - Side panel

func drawSidePanel(_ state: ExplorerState, layout: Layout, art: FrameArt?, on screen: inout Screen) {
    let rect = layout.side
    let m = state.metadata, d = state.detection
    let width = rect.columns - 2
    var row = rect.row
    func line(_ text: String, _ role: Role = .panelText) {
        guard row < rect.row + rect.rows else { return }
        screen.put(text, row: row, column: rect.column + 1, role: role, limit: width)
        row += 1
    }
    for r in rect.row..<(rect.row + rect.rows) { screen[r, rect.column - 1] = ScreenCell("│", role: .dim) }
    line(state.videoName, .title)
    line("\(m.width)×\(m.height)  " + String(format: "%.2f fps", m.frameRate) + "  \(m.frameCount) frames")
    line(state.detectorName, .title)
    line(analysisLine(d))
    let faces = state.currentFaces
    line(faces.isEmpty ? "no face on this frame" : "faces " + faces.map { "#\($0.track)" }.joined(separator: " "))
    guard let face = state.selectedFace else { return }
    let explainer = d.explainer
    line("FACE #\(face.track)" + (explainer.map { "  \($0)" } ?? ""), .title)
    let pane = layout.facePane
    if pane.rows > 0 {
        if let art { place(art, in: pane, on: &screen) }
        row = pane.row + pane.rows
        if let explainer {
            let status = d.maps[MapKey(frame: state.currentFrame, track: face.track, explainer: explainer)]
            if let text = mapStatusText(status, explainer: explainer) {
                screen.put(text, row: pane.row + pane.rows / 2, column: pane.column, role: .dim, limit: pane.columns)
            }
            drawColorBar(row: row, column: rect.column + 1, columns: min(width, pane.columns), on: &screen)
            row += 1
        }
    }
    guard let output = face.output else { return }
    line(String(format: "p(fake) %.3f  logit %+.2f", output.probability, output.logit),
         Double(output.probability) >= d.threshold ? .scoreFake : .scoreReal)
    if d.classes.indices.contains(output.predicted) { line("predicted: \(d.classes[output.predicted])") }
    let nameWidth = min(10, d.classes.map(\.count).max() ?? 0)
    for (name, p) in zip(d.classes, output.classProbabilities) {
        let barWidth = max(1, width - nameWidth - 7)
        let filled = Int((Double(p) * Double(barWidth)).rounded())
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: barWidth - filled)
        line(name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + " " + bar + String(format: " %.2f", p),
             name == "real" ? .scoreReal : .scoreFake)
    }
    if let v = d.verdicts {
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "–" }
        line("VIDEO  mean logit \(v.meanLogit.map { String(format: "%+.2f", $0) } ?? "–")", .title)
        line("MF \(f(v.mf))  MT \(f(v.mt))  AT \(f(v.at))")
    }
}

func analysisLine(_ d: DetectionState) -> String {
    let s = d.status
    let what = d.hasDetector ? "analysed" : "faces"
    if s.total == 0 { return s.error == nil ? "" : "analysis failed" }
    if s.finished { return "\(what) \(s.completed)/\(s.total) done" }
    return "\(what) \(s.completed)/\(s.total) \(Int(Double(s.completed) / Double(s.total) * 100))%"
}

/// "computing gradcam 40% (Esc cancels)", "failed: …", or nil when the map is on screen.
func mapStatusText(_ status: MapStatus?, explainer: String) -> String? {
    switch status {
    case .ready: return nil
    case .pending(let p): return "\(explainer) \(Int(p * 100))%" + (explainer == "shap" ? " Esc" : "")
    case .failed(let why): return "failed: \(why)"
    case nil: return "\(explainer) …"
    }
}

// MARK: - Compare view

func drawCompare(_ state: ExplorerState, layout: Layout, panes: PaneArt, on screen: inout Screen) {
    let d = state.detection
    guard let face = state.selectedFace, !d.explainers.isEmpty else {
        let text = d.explainers.isEmpty ? "compare: no explainers (load a detector with --detector)" : "compare: no face on this frame"
        screen.put(text, row: layout.compare.rows / 2, column: 2, role: .dim)
        return
    }
    let rects = layout.comparePanels(count: d.explainers.count)
    for (name, rect) in zip(d.explainers, rects) {
        screen.put(name, row: rect.row - 1, column: rect.column, role: .title, limit: rect.columns)
        if let art = panes.compare[name] { place(art, in: rect, on: &screen) }
        let status = d.maps[MapKey(frame: state.currentFrame, track: face.track, explainer: name)]
        if let text = mapStatusText(status, explainer: name) {
            screen.put(text, row: rect.row + rect.rows / 2, column: rect.column, role: .dim, limit: rect.columns)
        }
        var row = rect.row + rect.rows
        func line(_ text: String) {
            screen.put(text, row: row, column: rect.column, role: .panelText, limit: max(rect.columns, 16))
            row += 1
        }
        if let m = d.metrics[name]?[face.track] {
            let x = m.metrics
            line(String(format: "I %.3f V %.3f", x.intensity, x.variance))
            line(String(format: "τ %.3f ρ %.3f", x.temporal, x.spatial))
            line(String(format: "μ %.3f  n=%d", x.centrality, m.frames))
        } else {
            line("metrics …")
        }
    }
    if let first = rects.first {
        let bottom = layout.compare.row + layout.compare.rows - 1
        screen.put("track #\(face.track)  frame \(state.currentFrame)", row: bottom, column: first.column, role: .dim)
        drawColorBar(row: bottom, column: first.column + 24, columns: min(30, layout.compare.columns - 26), on: &screen)
    }
}

// MARK: - Timeline

func drawTimeline(_ state: ExplorerState, layout: Layout, on screen: inout Screen) {
    let rect = layout.timeline
    let (first, last) = layout.timelineBar
    let barRow = rect.row + rect.rows - 2
    let curveRows = layout.curveRows
    if curveRows > 0 { drawCurve(state, layout: layout, rows: curveRows, on: &screen) }
    for c in first...last { screen[barRow, c] = ScreenCell("━", role: .timelineBar) }
    if state.frameCount > 0 {
        let cursor = layout.timelineColumn(ofFrame: state.currentFrame, frameCount: state.frameCount)
        screen[barRow, cursor] = ScreenCell("█", role: .timelineCursor)
        for r in 0..<curveRows where screen[rect.row + r, cursor].character == " " || screen[rect.row + r, cursor].role == .threshold {
            screen[rect.row + r, cursor] = ScreenCell("│", role: .timelineCursor)
        }
    }
    let labelRow = rect.row + rect.rows - 1
    screen.put("0", row: labelRow, column: first, role: .dim)
    let end = "\(max(0, state.frameCount - 1))"
    screen.put(end, row: labelRow, column: last - end.count + 1, role: .dim)
    let progress = analysisLine(state.detection)
    if !progress.isEmpty, last - first > progress.count + end.count + 4 {
        screen.put(progress, row: labelRow, column: first + (last - first - progress.count) / 2, role: .dim)
    }
}

/// The per-frame fake probability as a bar chart in eighth blocks (each column: the most fake frame under it),
/// with the threshold as a dotted line where the bars stay below it.
private func drawCurve(_ state: ExplorerState, layout: Layout, rows: Int, on screen: inout Screen) {
    let rect = layout.timeline
    let (first, last) = layout.timelineBar
    let levels: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    let total = state.frameCount
    let threshold = state.detection.threshold
    let thresholdRow = min(rows - 1, Int(threshold * Double(rows)))  // counted from the bottom
    for c in first...last {
        var value: Float?
        if total > 0 {
            let a = layout.frame(atTimelineColumn: c, frameCount: total)
            let b = c == last ? total - 1 : max(a, layout.frame(atTimelineColumn: c + 1, frameCount: total) - 1)
            for f in a...min(b, total - 1) { if let v = state.curveValue(frame: f) { value = max(value ?? 0, v) } }
        }
        let eighths = value.map { Int((Double($0) * Double(rows * 8)).rounded()) }
        let role: Role = (value.map { Double($0) >= threshold } ?? false) ? .scoreFake : .timelineCurve
        for r in 0..<rows {  // r = 0 is the bottom curve row
            let row = rect.row + rows - 1 - r
            guard let eighths else {
                if r == 0 { screen[row, c] = ScreenCell("▁", role: .dim) }
                continue
            }
            let level = min(8, max(0, eighths - r * 8))
            if level > 0 {
                screen[row, c] = ScreenCell(levels[level], role: role)
            } else if r == thresholdRow && state.detection.hasDetector {
                screen[row, c] = ScreenCell("┈", role: .threshold)
            }
        }
        if eighths == nil, state.detection.hasDetector, thresholdRow > 0 {
            screen[rect.row + rows - 1 - thresholdRow, c] = ScreenCell("┈", role: .threshold)
        }
    }
    // Ticks in the margins keep the threshold readable where the bars cover its row.
    if state.detection.hasDetector {
        screen[rect.row + rows - 1 - thresholdRow, first - 1] = ScreenCell("╶", role: .threshold)
        screen[rect.row + rows - 1 - thresholdRow, last + 1] = ScreenCell("╴", role: .threshold)
    }
}
