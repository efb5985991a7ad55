import Detection
import Explain
import Foundation
import Graphics
import Media

/// How the explorer is opened.
public struct ExplorerOptions: Sendable {
    public var videoPath: String
    public var detectorName: String
    /// `nil` picks sixel when the terminal answers DA1 with 4, else blocks.
    public var renderMode: RenderMode?
    /// The detector (`--detector` SPEC) and its weights; nil shows faces only.
    public var detectorSpec: String?
    public var weights: String?
    /// deepscope's `assets/` folder (MTCNN weights, bundled detectors); nil: no faces, and an error in the status bar.
    public var assets: URL?
    /// Where `x` and `X` write.
    public var exportDirectory: String

    public init(videoPath: String, detectorName: String = "no detector", renderMode: RenderMode? = nil,
                detectorSpec: String? = nil, weights: String? = nil, assets: URL? = nil, exportDirectory: String = ".") {
        self.videoPath = videoPath
        self.detectorName = detectorName
        self.renderMode = renderMode
        self.detectorSpec = detectorSpec
        self.weights = weights
        self.assets = assets
        self.exportDirectory = exportDirectory
    }
}

/// Opens the video, runs the explorer until the user quits, and restores the terminal on every path.
/// Throws for failures before the screen opens (the CLI prints them); later ones appear in the status bar.
public func runExplorer(_ options: ExplorerOptions) throws {
    let video = try FFmpegVideo(contentsOf: URL(fileURLWithPath: options.videoPath))
    let environment = ProcessInfo.processInfo.environment
    // DA1 is asked before curses takes the terminal: the reply must not reach curses' input queue.
    let da1 = options.renderMode == nil || options.renderMode == .sixel ? TerminalCapabilities.queryDA1(timeout: 0.3) : nil
    let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
    let terminal = try Terminal(useColor: !noColor)
    defer { terminal.restore() }
    let capabilities = TerminalCapabilities.detect(environment: environment, terminfoColors: terminal.terminfoColors,
                                                   da1: da1)

    var state = ExplorerState(videoName: URL(fileURLWithPath: options.videoPath).lastPathComponent,
                              metadata: video.metadata,
                              detectorName: options.detectorSpec.map { "loading \($0)…" } ?? options.detectorName)
    state.frameTimes = (0..<video.metadata.frameCount).map { video.timestamp(ofFrame: $0) }
    state.sixelAvailable = capabilities.sixel
    state.renderMode = options.renderMode ?? (capabilities.sixel ? .sixel : .blocks)
    if state.renderMode == .sixel && !capabilities.sixel {
        state.message = "this terminal did not report sixel support; drawing sixel anyway"
    }
    if state.renderMode == .blocks && !terminal.unicode {
        state.renderMode = .ascii
        state.message = "the locale is not UTF-8: drawing ascii instead of half blocks"
    }

    let provider = FrameProvider(source: video)
    let analysis = AnalysisWorker(videoPath: options.videoPath, frameCount: video.metadata.frameCount,
                                  detectorSpec: options.detectorSpec, weights: options.weights, assets: options.assets)
    let explain = ExplainWorker(crops: analysis.crops)
    analysis.start()
    defer {
        // The terminal first, so the user gets the shell back while the workers wind down.
        terminal.restore()
        analysis.stop(timeout: 5)
        explain.stop(timeout: 5)
    }
    var loop = ExplorerLoop(state: state, provider: provider, terminal: terminal, capabilities: capabilities,
                            analysis: analysis, explain: explain,
                            exporter: Exporter(directory: options.exportDirectory, videoPath: options.videoPath))
    loop.run()
}

/// The event loop: input → action → reaction, frames from the provider, playback timing, drawing.
struct ExplorerLoop {
    var state: ExplorerState
    let provider: FrameProvider
    let terminal: Terminal
    let capabilities: TerminalCapabilities
    let analysis: AnalysisWorker
    let explain: ExplainWorker
    let exporter: Exporter
    private var layout: Layout
    private var art: (key: ArtKey, value: FrameArt)?
    private var paneCache: [ArtKey: FrameArt] = [:]
    private var needsDraw = true
    private var needsFullRepaint = true
    private var nextPlayDeadline: Double?

    init(state: ExplorerState, provider: FrameProvider, terminal: Terminal, capabilities: TerminalCapabilities,
         analysis: AnalysisWorker, explain: ExplainWorker, exporter: Exporter) {
        self.state = state
        self.provider = provider
        self.terminal = terminal
        self.capabilities = capabilities
        self.analysis = analysis
        self.explain = explain
        self.exporter = exporter
        let size = terminal.size
        layout = Layout(rows: size.rows, columns: size.columns)
    }

    mutating func run() {
        provider.request(state.currentFrame)
        while terminal.receivedSignal == nil {
            pickUpFrame()
            pickUpBackgroundWork()
            advancePlayback()
            if needsDraw { draw() }
            guard let input = terminal.poll(milliseconds: state.playing ? 5 : 30) else { continue }
            let action: Action?
            switch input {
            case .resize:
                let size = terminal.size
                layout = Layout(rows: size.rows, columns: size.columns)
                needsDraw = true
                needsFullRepaint = true
                continue
            case .click(let row, let column): action = .click(row: row, column: column)
            case .key(let key):
                action = state.prompt == nil ? KeyTable.action(for: key) : KeyTable.promptAction(for: key)
            }
            guard let action else { continue }
            if action == .cycleExplainer || action == .toggleCompare { explain.allowBackground() }
            if handle(action) { return }
            if state.playing, nextPlayDeadline == nil { nextPlayDeadline = now() }
        }
    }

    /// Applies an action and carries out its reaction; true means quit.
    private mutating func handle(_ action: Action) -> Bool {
        let reaction = apply(action, to: &state, layout: layout)
        if reaction.contains(.quit) { return true }
        if reaction.contains(.fetchFrame) { provider.request(state.currentFrame) }
        if reaction.contains(.fullRepaint) { needsFullRepaint = true }
        if reaction.contains(.redraw) { needsDraw = true }
        if reaction.contains(.cancelWork) { explain.cancelBackground() }
        if reaction.contains(.requestMaps) { explain.want(wantedMaps(state, crops: analysis.crops)) }
        if reaction.contains(.exportOverlay) { _ = handle(exporter.exportOverlay(state, explain: explain, crops: analysis.crops)) }
        if reaction.contains(.exportAll) {
            _ = handle(.notify("exporting compare grid and metrics…", isError: false))
            exporter.exportAll(state, explain: explain, crops: analysis.crops)
        }
        return false
    }

    /// Applies what the analysis and explain workers delivered since the last turn.
    private mutating func pickUpBackgroundWork() {
        var actions = analysis.drain()
        if actions.contains(where: { if case .detectorReady = $0 { return true } else { return false } }),
           let detector = analysis.detector {
            explain.setDetector(detector)
        }
        actions += explain.drain()
        actions += exporter.drain()
        for action in actions { _ = handle(action) }
    }

    /// Shows the requested frame once the decoder has it; reports decoder errors in the status bar.
    private mutating func pickUpFrame() {
        if let error = provider.lastError, state.message == nil {
            state.message = "\(error)"
            state.messageIsError = true
            state.playing = false
            needsDraw = true
        }
        guard state.shownFrame != state.currentFrame, provider.cachedFrame(state.currentFrame) != nil else { return }
        state.shownFrame = state.currentFrame
        needsDraw = true
    }

    /// Steps at the video's own timing while playing, without ever waiting on the decoder.
    private mutating func advancePlayback() {
        guard state.playing else { nextPlayDeadline = nil; return }
        guard let deadline = nextPlayDeadline, now() >= deadline else { return }
        let next = state.currentFrame + 1
        guard next < state.frameCount else {
            state.playing = false
            needsDraw = true
            return
        }
        // A frame not yet decoded holds playback on the current one rather than showing a blank pane.
        guard provider.cachedFrame(next) != nil else { provider.request(next); return }
        let step = state.frameTimes.indices.contains(next)
            ? max(0.001, state.frameTimes[next] - state.frameTimes[state.currentFrame]) : 1 / state.nominalRate
        _ = apply(.seek(frame: next), to: &state, layout: layout)
        provider.request(next)
        nextPlayDeadline = max(deadline + step, now() - 0.25)
        needsDraw = true
    }

    private mutating func draw() {
        var frameArt: FrameArt?
        var panes = PaneArt()
        let d = state.detection
        let face = state.selectedFace
        let explainer = d.explainer
        if let shown = state.shownFrame, let image = provider.cachedFrame(shown), !d.compareOpen {
            let rect = layout.frame
            let upright = image.rotated(byDegrees: state.metadata.rotation)
            panes.frameSize = (upright.width, upright.height)
            let overlayKey = d.overlayOnFrame ? face.flatMap { f in explainer.map { MapKey(frame: shown, track: f.track, explainer: $0) } } : nil
            let overlay = overlayKey.flatMap { key in explain.map(key).map { displayable($0, explainer: key.explainer) } }
            let faces = shown == state.currentFrame ? state.currentFaces : []
            let key = ArtKey(frame: shown, mode: state.renderMode, rect: rect, map: overlay == nil ? nil : overlayKey,
                             faces: state.renderMode == .sixel ? faces : [], selected: face?.track, borders: false)
            if let cached = art, cached.key == key {
                frameArt = cached.value
            } else {
                let composed = composeFrame(upright, faces: faces, selected: face?.track, overlay: overlay,
                                            boxes: state.renderMode == .sixel)
                let value = paintFrame(composed, mode: state.renderMode, columns: rect.columns, rows: rect.rows,
                                       capabilities: capabilities)
                art = (key, value)
                frameArt = value
            }
        }
        if let face {
            var cache: [ArtKey: FrameArt] = [:]
            func paneArt(_ name: String?, rect: CellRect, borders: Bool) -> FrameArt? {
                guard rect.rows > 0, rect.columns > 0,
                      let crop = analysis.crops.crop(frame: state.currentFrame, track: face.track) else { return nil }
                let mapKey = name.map { MapKey(frame: state.currentFrame, track: face.track, explainer: $0) }
                let map = mapKey.flatMap { key in explain.map(key).map { displayable($0, explainer: key.explainer) } }
                let edges = borders ? explain.borders(frame: state.currentFrame, track: face.track) : nil
                let key = ArtKey(frame: state.currentFrame, mode: state.renderMode, rect: rect, map: map == nil ? nil : mapKey,
                                 faces: [face], selected: face.track, borders: edges != nil)
                if let hit = paneCache[key] { cache[key] = hit; return hit }
                let value = paintFrame(composeFace(crop, map: map, borders: edges), mode: state.renderMode,
                                       columns: rect.columns, rows: rect.rows, capabilities: capabilities)
                cache[key] = value
                return value
            }
            if d.compareOpen {
                for (name, rect) in zip(d.explainers, layout.comparePanels(count: d.explainers.count)) {
                    panes.compare[name] = paneArt(name, rect: rect, borders: d.showBorders && name == "shap")
                }
            } else {
                panes.face = paneArt(explainer, rect: layout.facePane, borders: d.showBorders)
            }
            paneCache = cache
        }
        let screen = render(state, layout: layout, frameArt: frameArt, panes: panes)
        terminal.draw(screen, full: needsFullRepaint)
        needsDraw = false
        needsFullRepaint = false
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// What a painted image depends on, so it is painted again only when one of these changes.
struct ArtKey: Hashable {
    var frame: Int
    var mode: RenderMode
    var rect: CellRect
    var map: MapKey?
    var faces: [FaceMark]
    var selected: Int?
    var borders: Bool

    static func == (a: ArtKey, b: ArtKey) -> Bool {
        a.frame == b.frame && a.mode == b.mode && a.rect == b.rect && a.map == b.map && a.faces == b.faces
            && a.selected == b.selected && a.borders == b.borders
    }

    func hash(into h: inout Hasher) {
        h.combine(frame); h.combine(mode); h.combine(rect.row); h.combine(rect.column); h.combine(rect.rows)
        h.combine(rect.columns); h.combine(map); h.combine(faces.count); h.combine(selected); h.combine(borders)
    }
}

/// The heatmaps the screen needs, most urgent first: the selected face's current explainer (the pane and the
/// `o` overlay), every explainer in the compare view, then — for the compare view's metrics over the track —
/// the instant explainers on the track's other analysed frames, nearest first.
func wantedMaps(_ state: ExplorerState, crops: CropStore) -> [MapKey] {
    let d = state.detection
    guard let face = state.selectedFace, let current = d.explainer else { return [] }
    let frame = state.currentFrame
    var keys = [MapKey(frame: frame, track: face.track, explainer: current)]
    guard d.compareOpen else { return keys }
    keys += d.explainers.filter { $0 != current }.map { MapKey(frame: frame, track: face.track, explainer: $0) }
    let others = crops.frames(of: face.track).filter { $0 != frame }.sorted { abs($0 - frame) < abs($1 - frame) }.prefix(500)
    for f in others {
        keys += d.explainers.filter { $0 != "shap" }.map { MapKey(frame: f, track: face.track, explainer: $0) }
    }
    return keys
}
