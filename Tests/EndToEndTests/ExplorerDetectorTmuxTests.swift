import Foundation
import Media
import Testing
import TestSupport

/// The explorer with a detector, as an analyst uses it: faces and scores filled in by the background analysis,
/// explainers on keys, and the exports on disk. The detector is the tiny random Meso4 of Detection's fixtures
/// (32-pixel input), so each test is bounded by the 120-frame face scan of the sample, a few seconds.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ExplorerDetectorTmuxTests {
    let sample = assetURL("carphone_pristine.mp4").path
    let tiny = fixtureURL("detection/tiny/manifest.json").path

    func explorer(_ args: String, columns: Int = 110, rows: Int = 34) throws -> TmuxSession {
        try TmuxSession(command: "'\(deepscopeBinary.path)' explore \(args)", columns: columns, rows: rows)
    }

    @Test(.enabled(if: haveProgram("tmux"))) func scoresExplainersAndExports() throws {
        let out = try makeTemporaryDirectory()
        let t = try explorer("'\(sample)' --detector '\(tiny)' --render blocks --export-dir '\(out.path)'")
        // A capture can land mid-paint, so wait for everything checked here at once.
        var r = try t.waitFor(timeout: 20) { screen in
            ["p(fake)", "FACE #", "tiny Meso4", "real ", "fake ", "┌#"].allSatisfy(screen.contains)
        }
        #expect(r.ok, "no scored face with detector name, class bars and face box:\n\(r.screen)")
        // The whole video is analysed in the background; the verdicts appear when there are scores.
        r = try t.waitFor(timeout: 20) { $0.contains("analysed 120/120 done") && $0.contains("MF ") }
        #expect(r.ok, "analysis did not finish with verdicts:\n\(r.screen)")

        // gradcam is first; once its map is on the pane, x writes it.
        try t.send("x")
        r = try t.waitFor(timeout: 15) { $0.contains("wrote ") && $0.contains("_gradcam.png") }
        if !r.ok {  // the map may still have been computing at the first x
            try t.send("x")
            r = try t.waitFor(timeout: 15) { $0.contains("_gradcam.png") }
        }
        #expect(r.ok, "x did not export the overlay:\n\(r.screen)")
        let png = out.appendingPathComponent("carphone_pristine_f0_t0_gradcam.png")
        let image = try PNG.read(contentsOf: png)
        #expect(image.width >= 128 && image.width == image.height)

        try t.send("e")
        r = try t.waitFor(timeout: 10) { $0.contains("gradcampp") }
        #expect(r.ok, "e did not switch the explainer:\n\(r.screen)")

        try t.send("c")
        r = try t.waitFor(timeout: 30) { $0.contains("layercam") && $0.contains("I 0.") && $0.contains("τ ") }
        #expect(r.ok, "compare view without metrics:\n\(r.screen)")
        try t.send("X")
        r = try t.waitFor(timeout: 60) { $0.contains("_metrics.csv") }
        #expect(r.ok, "X did not export:\n\(r.screen)")
        let csv = try String(contentsOf: out.appendingPathComponent("carphone_pristine_metrics.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "explainer,track,I,V,tau,rho,mu")
        #expect(lines.contains { $0.hasPrefix("gradcam,0,") } && lines.contains { $0.hasPrefix("layercam,0,") })
        let grid = try PNG.read(contentsOf: out.appendingPathComponent("carphone_pristine_f0_t0_compare.png"))
        #expect(grid.width > 3 * 128)
        try t.send("q")
        r = try t.waitFor("DEEPSCOPE-EXIT:0", timeout: 20)
        #expect(r.ok, "q did not exit cleanly:\n\(r.screen)")
    }

    @Test(.enabled(if: haveProgram("tmux"))) func facesOnlyAndABadDetectorReportInTheStatusBar() throws {
        let t = try explorer("'\(sample)' --render ascii")
        var r = try t.waitFor(timeout: 20) { $0.contains("faces #0") && $0.contains("┌#0") }
        #expect(r.ok, "no face box without a detector:\n\(r.screen)")
        try t.send("e")
        r = try t.waitFor(timeout: 5) { $0.contains("explainers need a detector") }
        #expect(r.ok)
        try t.send("q")
        #expect(try t.waitFor("DEEPSCOPE-EXIT:0", timeout: 20).ok)

        let dir = try makeTemporaryDirectory()
        let bad = dir.appendingPathComponent("manifest.json")
        try Data("{\"schema\": 1, \"name\": \"broken\"}".utf8).write(to: bad)
        let t2 = try explorer("'\(sample)' --detector '\(bad.path)' --render ascii")
        r = try t2.waitFor(timeout: 20) { $0.contains("detector:") }
        #expect(r.ok, "a bad manifest must show in the status area:\n\(r.screen)")
        r = try t2.waitFor(timeout: 20) { $0.contains("┌#0") }
        #expect(r.ok, "faces must still be drawn after a detector error:\n\(r.screen)")
        try t2.send("q")
        #expect(try t2.waitFor("DEEPSCOPE-EXIT:0", timeout: 20).ok)
    }
}
