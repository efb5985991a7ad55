import Detection
import Foundation
import Explain
import Faces
import Graphics
import Media
import Testing
@testable import Explorer

/// Faces, scores, explainers and exports as the reducer and the pure render see them.
@Suite(.timeLimit(.minutes(1))) struct DetectionViewTests {
    let layout = Layout(rows: 30, columns: 100)

    func output(_ p: Float) -> DetectorOutput {
        DetectorOutput(logit: log(p / (1 - p)), probability: p, classProbabilities: [1 - p, p], predicted: p >= 0.5 ? 1 : 0)
    }

    func mark(_ track: Int, _ x: Float, p: Float? = nil) -> FaceMark {
        FaceMark(track: track, box: FaceBox(x1: x, y1: 20, x2: x + 50, y2: 90), output: p.map(output))
    }

    /// A state with a detector, two tracks on frame 0 and one on frame 1, scored.
    func scored() -> ExplorerState {
        var s = ExplorerState(videoName: "v.mp4", metadata: sampleMetadata(frames: 4))
        _ = apply(.detectorReady(name: "tiny", classes: ["real", "fake"], explainers: ["gradcam", "shap"]), to: &s, layout: layout)
        _ = apply(.analysisUpdate(faces: [0: [mark(2, 100, p: 0.9), mark(1, 10, p: 0.2)], 1: [mark(1, 12, p: 0.3)]],
                                  status: AnalysisStatus(completed: 2, total: 4), verdicts: nil), to: &s, layout: layout)
        return s
    }

    @Test func tabCyclesTheFacesOfTheFrameInTrackOrder() {
        var s = scored()
        #expect(s.selectedFace?.track == 1)  // nothing selected: the first face by track
        var r = apply(.nextFace, to: &s, layout: layout)
        #expect(s.selectedFace?.track == 2 && r.contains(.requestMaps))
        r = apply(.nextFace, to: &s, layout: layout)
        #expect(s.selectedFace?.track == 1)
        // Track 2 is not on frame 1: the pane falls back to the frame's first face, the choice is kept.
        _ = apply(.nextFace, to: &s, layout: layout)
        _ = apply(.stepForward, to: &s, layout: layout)
        #expect(s.detection.selectedTrack == 2 && s.selectedFace?.track == 1)
        _ = apply(.last, to: &s, layout: layout)
        r = apply(.nextFace, to: &s, layout: layout)
        #expect(s.message == "no face on this frame")
    }

    @Test func curveFollowsTheSelectedTrackElseTheMostFakeFace() {
        var s = scored()
        #expect(s.curveValue(frame: 0) == 0.9)
        s.detection.selectedTrack = 1
        #expect(s.curveValue(frame: 0) == 0.2)
        #expect(s.curveValue(frame: 3) == nil)
    }

    @Test func explainerKeysCycleAndNeedADetector() {
        var bare = ExplorerState(videoName: "v", metadata: sampleMetadata())
        _ = apply(.cycleExplainer, to: &bare, layout: layout)
        #expect(bare.messageIsError && bare.message?.contains("--detector") == true)
        var s = scored()
        #expect(s.detection.explainer == "gradcam")
        let r = apply(.cycleExplainer, to: &s, layout: layout)
        #expect(s.detection.explainer == "shap" && r.contains(.requestMaps) && r.contains(.fullRepaint))
        _ = apply(.cycleExplainer, to: &s, layout: layout)
        #expect(s.detection.explainer == "gradcam")
        #expect(apply(.toggleCompare, to: &s, layout: layout).contains(.requestMaps) && s.detection.compareOpen)
        #expect(apply(.exportAll, to: &s, layout: layout).contains(.exportAll))
        #expect(apply(.exportOverlay, to: &s, layout: layout).contains(.exportOverlay))
    }

    @Test func escapeForgetsPendingMapsAndAsksTheWorkerToStop() {
        var s = scored()
        let key = MapKey(frame: 0, track: 1, explainer: "shap")
        _ = apply(.mapUpdate(key, .pending(progress: 0.4)), to: &s, layout: layout)
        _ = apply(.mapUpdate(MapKey(frame: 0, track: 1, explainer: "gradcam"), .ready), to: &s, layout: layout)
        let r = apply(.cancelWork, to: &s, layout: layout)
        #expect(r.contains(.cancelWork) && s.detection.maps[key] == nil)
        #expect(s.detection.maps[MapKey(frame: 0, track: 1, explainer: "gradcam")] == .ready)
        #expect(s.message == "cancelled shap")
    }

    @Test func backgroundUpdatesKeepTheUsersMessageAndReportErrors() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata())
        _ = apply(.notify("wrote /tmp/a.png", isError: false), to: &s, layout: layout)
        _ = apply(.analysisUpdate(faces: [:], status: AnalysisStatus(completed: 1, total: 120), verdicts: nil), to: &s, layout: layout)
        #expect(s.message == "wrote /tmp/a.png")
        var t = ExplorerState(videoName: "v", metadata: sampleMetadata())
        _ = apply(.analysisUpdate(faces: [:], status: AnalysisStatus(total: 120, finished: true, error: "detector: bad manifest"),
                                  verdicts: nil), to: &t, layout: layout)
        #expect(t.messageIsError && t.message == "detector: bad manifest")
        let screen = render(t, layout: layout, frameArt: nil)
        #expect(screen.text(row: 29).contains("detector: bad manifest"))
    }

    @Test func aVideoWithoutFacesSaysSoWhenTheScanEnds() {
        var s = ExplorerState(videoName: "v", metadata: sampleMetadata(frames: 2))
        _ = apply(.analysisUpdate(faces: [0: [], 1: []], status: AnalysisStatus(completed: 2, total: 2), verdicts: nil), to: &s, layout: layout)
        #expect(s.message == nil)
        _ = apply(.analysisUpdate(faces: [:], status: AnalysisStatus(completed: 2, total: 2, finished: true), verdicts: nil), to: &s, layout: layout)
        #expect(s.messageIsError && s.message == "no face found in the 2 analysed frames")
    }

    @Test func sidePanelShowsScoresClassBarsAndVerdicts() {
        var s = scored()
        let results = [FrameResult(frame: 0, time: 0, faces: [ScoredFace(track: 1, face: Face(box: FaceBox(x1: 0, y1: 0, x2: 1, y2: 1), probability: 1, landmarks: []), output: output(0.2))])]
        _ = apply(.analysisUpdate(faces: [:], status: AnalysisStatus(completed: 4, total: 4, finished: true),
                                  verdicts: VideoVerdicts(results)), to: &s, layout: layout)
        let text = render(s, layout: layout, frameArt: nil).text
        #expect(text.contains("p(fake) 0.200"))
        #expect(text.contains("predicted: real"))
        #expect(text.contains("FACE #1  gradcam"))
        #expect(text.contains("MF 0.000  MT 0.200  AT 0.200"))
        #expect(text.contains("analysed 4/4 done"))
        #expect(text.contains("faces #1 #2"))
    }

    @Test func timelineDrawsTheCurveAboveTheThresholdInTheFakeRole() {
        var s = scored()
        s.detection.faces = [:]
        for f in 0..<4 { s.detection.faces[f] = [mark(1, 10, p: f < 2 ? 0.1 : 0.95)] }
        let screen = render(s, layout: layout, frameArt: nil)
        let curveTop = layout.timeline.row
        let (first, last) = layout.timelineBar
        // Frames 2–3 fill the right half up to the top row, in the fake role; frames 0–1 stay low.
        #expect(screen[curveTop, last].role == .scoreFake || screen[curveTop, last].role == .timelineCursor)
        // 0.1 of three rows of eighths is 2.4 eighths: "▂" in the bottom row.
        #expect(screen[curveTop + layout.curveRows - 1, first + 1].character == "▂")
        // The threshold is a dotted line in the middle curve row where the bars stay below it.
        let thresholdRow = curveTop + layout.curveRows - 1 - Int(0.5 * Double(layout.curveRows))
        #expect(screen[thresholdRow, first + 2].character == "┈")
    }

    @Test func faceBoxesAreDrawnOnCellFramesWithTheSelectedOneMarked() {
        var s = scored()
        s.detection.selectedTrack = 2
        let image = RGBImage(width: 176, height: 144, fill: (40, 40, 40))
        let art = paintFrame(image, mode: .blocks, columns: layout.frame.columns, rows: layout.frame.rows,
                             capabilities: TerminalCapabilities(colorDepth: .direct))
        let screen = render(s, layout: layout, frameArt: art, panes: PaneArt(frameSize: (176, 144)))
        let text = screen.text
        #expect(text.contains("┌#1"))
        #expect(text.contains("┌#2"))
        let corners = screen.cells.filter { $0.character == "┌" }
        #expect(corners.contains { $0.role == .faceSelected } && corners.contains { $0.role == .faceBox })
        // Edges keep the pixel colour behind them.
        #expect(corners.allSatisfy { $0.background == RGB(40, 40, 40) })
    }

    @Test func compareViewShowsEveryExplainerWithItsMetrics() {
        var s = scored()
        _ = apply(.toggleCompare, to: &s, layout: layout)
        let m = ConsistencyMetrics(intensity: 0.4821, variance: 0.0951, temporal: 0.739, spatial: 0.1262, centrality: 0.5286)
        _ = apply(.metricsUpdate(explainer: "gradcam", track: 1, TrackMetrics(metrics: m, frames: 3)), to: &s, layout: layout)
        _ = apply(.mapUpdate(MapKey(frame: 0, track: 1, explainer: "shap"), .pending(progress: 0.25)), to: &s, layout: layout)
        let text = render(s, layout: layout, frameArt: nil).text
        #expect(text.contains("gradcam") && text.contains("shap"))
        #expect(text.contains("I 0.482 V 0.095"))
        #expect(text.contains("τ 0.739 ρ 0.126"))
        #expect(text.contains("μ 0.529  n=3"))
        #expect(text.contains("shap 25% Esc"))
        #expect(layout.comparePanels(count: 2).count == 2)
    }

    @Test func wantedMapsPutTheVisibleFaceFirst() {
        var s = scored()
        let crops = CropStore()
        for f in 0..<3 { crops.put(RGBImage(width: 8, height: 8), frame: f, track: 1) }
        #expect(wantedMaps(s, crops: crops) == [MapKey(frame: 0, track: 1, explainer: "gradcam")])
        s.detection.compareOpen = true
        let keys = wantedMaps(s, crops: crops)
        #expect(Array(keys.prefix(2)) == [MapKey(frame: 0, track: 1, explainer: "gradcam"), MapKey(frame: 0, track: 1, explainer: "shap")])
        // The track's other frames follow for the metrics, without SHAP (a background explainer).
        #expect(keys.dropFirst(2) == [MapKey(frame: 1, track: 1, explainer: "gradcam"), MapKey(frame: 2, track: 1, explainer: "gradcam")])
    }

    @Test func overlayIsPastedOverTheCropRectangleOnly() {
        let image = RGBImage(width: 40, height: 30, fill: (0, 0, 0))
        let face = FaceMark(track: 1, box: FaceBox(x1: 10, y1: 10, x2: 20, y2: 20))
        let hot = HeatMap(width: 2, height: 2, values: [1, 1, 1, 1])
        let out = composeFrame(image, faces: [face], selected: 1, overlay: hot, boxes: false)
        func px(_ x: Int, _ y: Int) -> [UInt8] { Array(out.pixels[(3 * (y * 40 + x))..<(3 * (y * 40 + x) + 3)]) }
        #expect(px(15, 15) != [0, 0, 0])  // JET(1) half-blended on black
        #expect(px(5, 5) == [0, 0, 0] && px(25, 25) == [0, 0, 0])
        let boxed = composeFrame(image, faces: [face], selected: 1, overlay: nil, boxes: true)
        #expect(Array(boxed.pixels[(3 * (10 * 40 + 15))..<(3 * (10 * 40 + 15) + 3)]) == [255, 220, 0])
    }

    @Test func supervoxelBordersAreWhiteOnTheFacePane() {
        let crop = RGBImage(width: 4, height: 4, fill: (10, 10, 10))
        var borders = [Bool](repeating: false, count: 16)
        borders[5] = true
        let out = composeFace(crop, map: nil, borders: borders)
        #expect(Array(out.pixels[15..<18]) == [255, 255, 255] && Array(out.pixels[0..<3]) == [10, 10, 10])
    }

    @Test func keyTableBindsTheNewKeysAndHelpListsThem() {
        #expect(KeyTable.action(for: .character("\t")) == .nextFace)
        #expect(KeyTable.action(for: .character("e")) == .cycleExplainer)
        #expect(KeyTable.action(for: .character("o")) == .toggleOverlay)
        #expect(KeyTable.action(for: .character("c")) == .toggleCompare)
        #expect(KeyTable.action(for: .character("b")) == .toggleBorders)
        #expect(KeyTable.action(for: .character("x")) == .exportOverlay)
        #expect(KeyTable.action(for: .character("X")) == .exportAll)
        #expect(KeyTable.action(for: .character("\u{1B}")) == .cancelWork)
        let keys = KeyTable.help.map(\.keys)
        for k in ["Tab", "e", "o", "c", "b", "x", "X", "Esc"] { #expect(keys.contains(k), "help lacks \(k)") }
    }
}
