/// Applies one action to the state and says what the loop must do; it draws nothing.
public func apply(_ action: Action, to state: inout ExplorerState, layout: Layout) -> Reaction {
    let before = state.currentFrame
    let beforeFace = state.selectedFace?.track
    if !action.isBackground && state.prompt == nil { state.message = nil }
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
        return state.currentFrame != before ? [.redraw, .fetchFrame, .requestMaps] : .redraw
    default:
        let reaction = applyDetection(action, to: &state)
        if state.message == nil { state.messageIsError = false }
        let moved = state.currentFrame != before || state.selectedFace?.track != beforeFace
        return moved ? reaction.union([.requestMaps]) : reaction
    }
    if state.message == nil { state.messageIsError = false }
    return state.currentFrame != before ? [.redraw, .fetchFrame, .requestMaps] : .redraw
}

// MARK: - Faces, explainers, background results

private func applyDetection(_ action: Action, to state: inout ExplorerState) -> Reaction {
    switch action {
    case .nextFace:
        let tracks = state.currentFaces.map(\.track)
        guard !tracks.isEmpty else {
            state.message = "no face on this frame"
            return .redraw
        }
        let current = state.selectedFace?.track ?? tracks[0]
        let i = tracks.firstIndex(of: current) ?? 0
        state.detection.selectedTrack = tracks[(i + 1) % tracks.count]
        return [.redraw, .requestMaps]
    case .cycleExplainer:
        let d = state.detection
        guard !d.explainers.isEmpty else {
            state.message = d.hasDetector ? "this detector has no explainer" : "explainers need a detector (--detector)"
            state.messageIsError = true
            return .redraw
        }
        state.detection.explainerIndex = (d.explainerIndex + 1) % d.explainers.count
        state.message = "explainer: \(state.detection.explainer ?? "")"
        return [.redraw, .fullRepaint, .requestMaps]
    case .toggleOverlay:
        state.detection.overlayOnFrame.toggle()
        state.message = "overlay on frame: " + (state.detection.overlayOnFrame ? "on" : "off")
        return [.redraw, .fullRepaint, .requestMaps]
    case .toggleCompare:
        state.detection.compareOpen.toggle()
        return [.redraw, .fullRepaint, .requestMaps]
    case .toggleBorders:
        state.detection.showBorders.toggle()
        state.message = "supervoxel borders: " + (state.detection.showBorders ? "on (SHAP maps)" : "off")
        return [.redraw, .fullRepaint]
    case .exportOverlay: return [.redraw, .exportOverlay]
    case .exportAll: return [.redraw, .exportAll]
    case .cancelWork:
        let pending = state.detection.maps.filter { if case .pending = $0.value { return true } else { return false } }
        for key in pending.keys { state.detection.maps[key] = nil }
        state.message = pending.isEmpty ? nil : "cancelled \(Set(pending.keys.map(\.explainer)).sorted().joined(separator: ", "))"
        return [.redraw, .cancelWork]
    case .detectorReady(let name, let classes, let explainers):
        state.detectorName = name
        state.detection.classes = classes
        state.detection.explainers = explainers
        state.detection.explainerIndex = 0
        return [.redraw, .requestMaps]
    case .analysisUpdate(let faces, let status, let verdicts):
        state.detection.faces.merge(faces) { $1 }
        state.detection.status = status
        if let verdicts { state.detection.verdicts = verdicts }
        if let error = status.error, state.message == nil {
            state.message = error
            state.messageIsError = true
        } else if status.finished, status.total > 0, state.message == nil,
                  !state.detection.faces.values.contains(where: { !$0.isEmpty }) {
            state.message = "no face found in the \(status.completed) analysed frames"
            state.messageIsError = true
        }
        // New faces on the frame on screen can change which maps are wanted.
        return faces[state.currentFrame] != nil ? [.redraw, .requestMaps] : .redraw
    case .mapUpdate(let key, let status):
        state.detection.maps[key] = status
        return .redraw
    case .metricsUpdate(let explainer, let track, let metrics):
        state.detection.metrics[explainer, default: [:]][track] = metrics
        return .redraw
    case .notify(let text, let isError):
        state.message = text
        state.messageIsError = isError
        return .redraw
    default:
        return .redraw
    }
}

/// "120" → frame 120; "2.5s" → the frame at 2.5 seconds.
func parseFrameTarget(_ text: String, rate: Double) -> Int? {
    if text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds >= 0 {
        return Int((seconds * rate).rounded(.down))
    }
    return Int(text).flatMap { $0 >= 0 ? $0 : nil }
}
