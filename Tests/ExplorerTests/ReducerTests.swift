import Media
import Testing
@testable import Explorer

func sampleMetadata(frames: Int = 120, rate: (Int, Int) = (30000, 1001)) -> VideoMetadata {
    VideoMetadata(path: "/v/carphone.mp4", container: "mov,mp4", codec: "h264", width: 176, height: 144,
                  frameRateNumerator: rate.0, frameRateDenominator: rate.1, duration: 4.004, frameCount: frames,
                  rotation: 0, startTime: 0, pixelFormat: "yuv420p", isVariableFrameRate: false)
}

struct ReducerTests {
    let layout = Layout(rows: 30, columns: 100)

    @Test func stepsClampAtBothEnds() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata(frames: 3))
        let r0 = apply(.stepBackward, to: &s, layout: layout)
        #expect(s.currentFrame == 0 && !r0.contains(.fetchFrame))
        var r = apply(.stepForward, to: &s, layout: layout)
        #expect(s.currentFrame == 1 && r.contains(.fetchFrame))
        _ = apply(.stepForward, to: &s, layout: layout)
        r = apply(.stepForward, to: &s, layout: layout)
        #expect(s.currentFrame == 2 && !r.contains(.fetchFrame))
    }

    @Test func jumpsOneSecondAtTheVideoRate() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        _ = apply(.jumpSeconds(1), to: &s, layout: layout)
        #expect(s.currentFrame == 30)  // 29.97 fps rounds to 30 frames
        _ = apply(.jumpSeconds(-1), to: &s, layout: layout)
        #expect(s.currentFrame == 0)
        _ = apply(.last, to: &s, layout: layout)
        #expect(s.currentFrame == 119)
        _ = apply(.first, to: &s, layout: layout)
        #expect(s.currentFrame == 0)
    }

    @Test func goToPromptAcceptsFramesAndSeconds() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        _ = apply(.openPrompt, to: &s, layout: layout)
        for ch in "75" { _ = apply(.promptInput(ch), to: &s, layout: layout) }
        _ = apply(.promptSubmit, to: &s, layout: layout)
        #expect(s.currentFrame == 75 && s.prompt == nil)
        _ = apply(.openPrompt, to: &s, layout: layout)
        for ch in "2.5s" { _ = apply(.promptInput(ch), to: &s, layout: layout) }
        _ = apply(.promptSubmit, to: &s, layout: layout)
        #expect(s.currentFrame == 74)  // 2.5 s × 29.97 fps = 74.9 → frame 74 is showing at 2.5 s
        _ = apply(.openPrompt, to: &s, layout: layout)
        for ch in "1x" { if let a = KeyTable.promptAction(for: .character(ch)) { _ = apply(a, to: &s, layout: layout) } }
        #expect(s.prompt == "1")  // 'x' is not accepted by the prompt
        _ = apply(.promptCancel, to: &s, layout: layout)
        #expect(s.prompt == nil && s.currentFrame == 74)
        _ = apply(.openPrompt, to: &s, layout: layout)
        _ = apply(.promptInput("."), to: &s, layout: layout)
        _ = apply(.promptSubmit, to: &s, layout: layout)
        #expect(s.messageIsError && s.message?.contains("not a frame number") == true)
    }

    @Test func clickOnTimelineSeeksAndElsewhereDoesNot() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        let bar = layout.timelineBar
        _ = apply(.click(row: layout.timeline.row + 1, column: bar.last), to: &s, layout: layout)
        #expect(s.currentFrame == 119)
        _ = apply(.click(row: layout.timeline.row, column: bar.first), to: &s, layout: layout)
        #expect(s.currentFrame == 0)
        _ = apply(.click(row: 2, column: 5), to: &s, layout: layout)
        #expect(s.currentFrame == 0)
        // Every timeline column maps to a frame whose column is that column (round trip), within one column.
        for column in bar.first...bar.last {
            let f = layout.frame(atTimelineColumn: column, frameCount: 120)
            #expect(abs(layout.timelineColumn(ofFrame: f, frameCount: 120) - column) <= 1)
        }
    }

    @Test func playPauseRestartsAtTheEndAndModesCycle() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        _ = apply(.last, to: &s, layout: layout)
        _ = apply(.togglePlay, to: &s, layout: layout)
        #expect(s.playing && s.currentFrame == 0)
        _ = apply(.stepForward, to: &s, layout: layout)
        #expect(!s.playing)
        s.renderMode = .blocks
        _ = apply(.cycleRenderMode, to: &s, layout: layout)
        #expect(s.renderMode == .ascii)  // no sixel: blocks → ascii → blocks
        s.sixelAvailable = true
        s.renderMode = .blocks
        let r = apply(.cycleRenderMode, to: &s, layout: layout)
        #expect(s.renderMode == .sixel && r.contains(.fullRepaint))
        #expect(apply(.quit, to: &s, layout: layout).contains(.quit))
    }

    @Test func keyTableFollowsTheDesignConventions() {
        #expect(KeyTable.action(for: .character(".")) == .stepForward)
        #expect(KeyTable.action(for: .character(",")) == .stepBackward)
        #expect(KeyTable.action(for: .right) == .stepForward)
        #expect(KeyTable.action(for: .shiftRight) == .jumpSeconds(1))
        #expect(KeyTable.action(for: .shiftLeft) == .jumpSeconds(-1))
        #expect(KeyTable.action(for: .home) == .first)
        #expect(KeyTable.action(for: .end) == .last)
        #expect(KeyTable.action(for: .character("g")) == .openPrompt)
        #expect(KeyTable.action(for: .character(" ")) == .togglePlay)
        #expect(KeyTable.action(for: .character("m")) == .cycleRenderMode)
        #expect(KeyTable.action(for: .character("?")) == .toggleHelp)
        #expect(KeyTable.action(for: .character("q")) == .quit)
        #expect(KeyTable.action(for: .character("z")) == nil)
    }
}
