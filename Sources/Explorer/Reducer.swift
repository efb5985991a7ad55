/// Applies one action to the state and says what the loop must do; it draws nothing.
public func apply(_ action: Action, to state: inout ExplorerState, layout: Layout) -> Reaction {
    let before = state.currentFrame
    if case .tick = action {} else if state.prompt == nil { state.message = nil }
    switch action {
    case .stepForward: state.playing = false; state.seek(to: state.currentFrame + 1)
    case .stepBackward: state.playing = false; state.seek(to: state.currentFrame - 1)
    case .jumpSeconds(let s): state.seek(to: state.currentFrame + Int((s * state.nominalRate).rounded()))
    case .first: state.playing = false; state.seek(to: 0)
    case .last: state.playing = false; state.seek(to: state.lastFrame)
    case .seek(let frame): state.seek(to: frame)
    case .togglePlay:
        if !state.playing && state.currentFrame >= state.lastFrame { state.seek(to: 0) }
        state.playing.toggle()
    case .cycleRenderMode:
        state.renderMode = state.renderMode.next(sixelAvailable: state.sixelAvailable)
        state.message = "render mode: \(state.renderMode.rawValue)"
        return [.redraw, .fullRepaint]
    case .toggleHelp:
        let wasOpen = state.showHelp
        state.showHelp.toggle()
        // Closing the overlay uncovers cells that a sixel image had drawn over: send the images again.
        return wasOpen ? [.redraw, .fullRepaint] : .redraw
    case .openPrompt:
        state.playing = false
        state.prompt = ""
    case .promptInput(let ch):
        if (state.prompt?.count ?? 0) < 12 { state.prompt?.append(ch) }
    case .promptBackspace:
        if state.prompt?.isEmpty == false { state.prompt?.removeLast() }
    case .promptCancel:
        state.prompt = nil
    case .promptSubmit:
        if let text = state.prompt {
            state.prompt = nil
            if let frame = parseFrameTarget(text, rate: state.nominalRate) {
                state.seek(to: frame)
            } else if !text.isEmpty {
                state.message = "go to: '\(text)' is not a frame number or a time such as 2.5s"
                state.messageIsError = true
            }
        }
    case .repaint: return [.redraw, .fullRepaint]
    case .quit: return .quit
    case .click(let row, let column):
        guard layout.timeline.contains(row: row, column: column) else { return [] }
        state.playing = false
        state.seek(to: layout.frame(atTimelineColumn: column, frameCount: state.frameCount))
    case .tick:
        return state.currentFrame != before ? [.redraw, .fetchFrame] : .redraw
    }
    if state.message == nil { state.messageIsError = false }
    return state.currentFrame != before ? [.redraw, .fetchFrame] : .redraw
}

/// "120" → frame 120; "2.5s" → the frame at 2.5 seconds.
func parseFrameTarget(_ text: String, rate: Double) -> Int? {
    if text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds >= 0 {
        return Int((seconds * rate).rounded(.down))
    }
    return Int(text).flatMap { $0 >= 0 ? $0 : nil }
}
