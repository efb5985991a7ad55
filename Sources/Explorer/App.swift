import Foundation
import Graphics
import Media

/// How the explorer is opened.
public struct ExplorerOptions: Sendable {
    public var videoPath: String
    public var detectorName: String
    /// `nil` picks sixel when the terminal answers DA1 with 4, else blocks.
    public var renderMode: RenderMode?

    public init(videoPath: String, detectorName: String = "no detector", renderMode: RenderMode? = nil) {
        self.videoPath = videoPath
        self.detectorName = detectorName
        self.renderMode = renderMode
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
                              metadata: video.metadata, detectorName: options.detectorName)
    state.frameTimes = (0..<video.metadata.frameCount).map { video.timestamp(ofFrame: $0) }
    state.sixelAvailable = capabilities.sixel
    state.renderMode = options.renderMode ?? (capabilities.sixel ? .sixel : .blocks)
    if state.renderMode == .sixel && !capabilities.sixel {
        state.message = "this terminal did not report sixel support; drawing sixel anyway"
    }

    let provider = FrameProvider(source: video)
    var loop = ExplorerLoop(state: state, provider: provider, terminal: terminal, capabilities: capabilities)
    loop.run()
}

/// The event loop: input → action → reaction, frames from the provider, playback timing, drawing.
struct ExplorerLoop {
    var state: ExplorerState
    let provider: FrameProvider
    let terminal: Terminal
    let capabilities: TerminalCapabilities
    private var layout: Layout
    private var art: (frame: Int, mode: RenderMode, rect: CellRect, value: FrameArt)?
    private var needsDraw = true
    private var needsFullRepaint = true
    private var nextPlayDeadline: Double?

    init(state: ExplorerState, provider: FrameProvider, terminal: Terminal, capabilities: TerminalCapabilities) {
        self.state = state
        self.provider = provider
        self.terminal = terminal
        self.capabilities = capabilities
        let size = terminal.size
        layout = Layout(rows: size.rows, columns: size.columns)
    }

    mutating func run() {
        provider.request(state.currentFrame)
        while terminal.receivedSignal == nil {
            pickUpFrame()
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
            let reaction = apply(action, to: &state, layout: layout)
            if reaction.contains(.quit) { return }
            if reaction.contains(.fetchFrame) { provider.request(state.currentFrame) }
            if reaction.contains(.fullRepaint) { needsFullRepaint = true }
            if reaction.contains(.redraw) { needsDraw = true }
            if state.playing, nextPlayDeadline == nil { nextPlayDeadline = now() }
        }
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
        if let shown = state.shownFrame, let image = provider.cachedFrame(shown) {
            let rect = layout.frame
            if let cached = art, cached.frame == shown, cached.mode == state.renderMode, cached.rect == rect {
                frameArt = cached.value
            } else {
                let upright = image.rotated(byDegrees: state.metadata.rotation)
                let value = paintFrame(upright, mode: state.renderMode, columns: rect.columns, rows: rect.rows,
                                       capabilities: capabilities)
                art = (shown, state.renderMode, rect, value)
                frameArt = value
            }
        }
        let screen = render(state, layout: layout, frameArt: frameArt)
        terminal.draw(screen, full: needsFullRepaint)
        needsDraw = false
        needsFullRepaint = false
    }

    private func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
