import Foundation
import Testing
import TestSupport

/// The explorer as a person sees it: the real binary in a real terminal (tmux), driven by key presses.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ExplorerTmuxTests {
    let sample = assetURL("carphone_pristine.mp4").path

    func explorer(_ args: String, columns: Int = 100, rows: Int = 30, env: [String: String] = [:]) throws -> TmuxSession {
        try TmuxSession(command: "'\(deepscopeBinary.path)' explore \(args)", columns: columns, rows: rows,
                        environment: env)
    }

    /// The status bar is the last non-empty line of the pane.
    func statusLine(_ screen: String) -> String {
        screen.split(separator: "\n", omittingEmptySubsequences: false).last(where: { !$0.isEmpty }).map(String.init) ?? ""
    }

    @Test(.enabled(if: haveProgram("tmux"))) func stepsFramesWithKeys() throws {
        let t = try explorer("'\(sample)' --render blocks")
        var r = try t.waitFor { statusLine($0).contains("frame 0/119") && statusLine($0).contains("carphone_pristine.mp4") }
        #expect(r.ok, "first frame or file name never shown in the status bar:\n\(r.screen)")
        try t.send(".")
        r = try t.waitFor("frame 1/119"); #expect(r.ok, "'.' did not step:\n\(r.screen)")
        try t.send(".")
        r = try t.waitFor("frame 2/119"); #expect(r.ok)
        try t.send(",")
        r = try t.waitFor("frame 1/119"); #expect(r.ok, "',' did not step back:\n\(r.screen)")
        try t.send("Right")
        r = try t.waitFor("frame 2/119"); #expect(r.ok, "→ did not step")
        try t.send("End")
        r = try t.waitFor("frame 119/119"); #expect(r.ok, "End did not go to the last frame")
        try t.send("Home")
        r = try t.waitFor("frame 0/119"); #expect(r.ok)
        try t.send("S-Right")
        r = try t.waitFor("frame 30/119"); #expect(r.ok, "Shift+→ did not jump one second:\n\(r.screen)")
        try t.send("g", "7", "5", "Enter")
        r = try t.waitFor("frame 75/119"); #expect(r.ok, "go-to did not land on 75:\n\(r.screen)")
        try t.send("q")
        r = try t.waitFor("DEEPSCOPE-EXIT:0"); #expect(r.ok, "q did not exit cleanly:\n\(r.screen)")
        #expect(try !t.alternateScreenOn(), "terminal left in the alternate screen")
    }

    @Test(.enabled(if: haveProgram("tmux"))) func helpOverlayOpensAndCloses() throws {
        let t = try explorer("'\(sample)' --render ascii")
        #expect(try t.waitFor("frame 0/119").ok)
        try t.send("?")
        // A capture can land mid-paint: wait for the whole overlay, not only its title.
        var r = try t.waitFor { $0.contains("Keys") && $0.contains("go to frame") }
        #expect(r.ok, "help did not open:\n\(r.screen)")
        try t.send("?")
        r = try t.waitFor { !$0.contains("Keys") }; #expect(r.ok, "help did not close")
        try t.send("q")
        #expect(try t.waitFor("DEEPSCOPE-EXIT:0").ok)
    }

    @Test(.enabled(if: haveProgram("tmux"))) func resizeKeepsLayout() throws {
        let t = try explorer("'\(sample)' --render blocks", columns: 120, rows: 40)
        #expect(try t.waitFor("frame 0/119").ok)
        for (c, r) in [(80, 24), (60, 16), (140, 45), (100, 30)] {
            try t.resize(columns: c, rows: r)
            let result = try t.waitFor { screen in
                let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
                return lines.count >= r && lines[r - 1].contains("frame 0/119")
            }
            #expect(result.ok, "after resize to \(c)×\(r) the status bar is not on the last row:\n\(result.screen)")
        }
        try t.send(".")
        #expect(try t.waitFor("frame 1/119").ok)
        try t.send("q")
        #expect(try t.waitFor("DEEPSCOPE-EXIT:0").ok)
    }

    @Test(.enabled(if: haveProgram("tmux"))) func blocksModeDrawsColouredHalfBlocks() throws {
        let t = try explorer("'\(sample)' --render blocks")
        #expect(try t.waitFor("frame 0/119").ok)
        // The status bar can appear a moment before the decoded frame: poll the escaped screen for the frame.
        let deadline = Date().addingTimeInterval(30)
        var escaped = try t.capture(escapes: true)
        while !(escaped.contains("▀") && (escaped.contains("38;5;") || escaped.contains("38;2;"))), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            escaped = try t.capture(escapes: true)
        }
        #expect(escaped.contains("▀"), "no half blocks drawn")
        // 256-colour or truecolour SGR parameters for the frame's pixels.
        #expect(escaped.contains("38;5;") || escaped.contains("38;2;"), "frame cells carry no colour: \(escaped.prefix(400).debugDescription)")
        try t.send("q")
        #expect(try t.waitFor("DEEPSCOPE-EXIT:0").ok)
    }

    @Test(.enabled(if: haveProgram("tmux"))) func ctrlCAndSigtermRestoreTheTerminal() throws {
        let t = try explorer("'\(sample)' --render ascii")
        #expect(try t.waitFor("frame 0/119").ok)
        try t.send("C-c")
        var r = try t.waitFor("DEEPSCOPE-EXIT:"); #expect(r.ok, "Ctrl-C did not end the explorer:\n\(r.screen)")
        #expect(try !t.alternateScreenOn())

        // SIGTERM to the explorer process alone: a copy of the sample under a unique name finds it.
        let dir = try makeTemporaryDirectory()
        let unique = dir.appendingPathComponent("sigterm-\(UUID().uuidString.prefix(6)).mp4")
        try FileManager.default.copyItem(atPath: sample, toPath: unique.path)
        let t2 = try explorer("'\(unique.path)' --render ascii")
        #expect(try t2.waitFor("frame 0/119").ok)
        // Anchored to the explorer's own argv: the tmux server's command line names the file too.
        try runProcess("pkill", ["-TERM", "-f", "^[^ ]*deepscope explore [^ ]*\(unique.lastPathComponent)"])
        r = try t2.waitFor("DEEPSCOPE-EXIT:"); #expect(r.ok, "SIGTERM did not end the explorer:\n\(r.screen)")
        #expect(try !t2.alternateScreenOn())
    }

    @Test(.enabled(if: haveProgram("tmux"))) func badVideoGivesOneLineErrorAndNoRawTerminal() throws {
        let dir = try makeTemporaryDirectory()
        let bogus = dir.appendingPathComponent("not-a-video.mp4")
        try Data("this is not a video".utf8).write(to: bogus)
        let t = try explorer("'\(bogus.path)'")
        let r = try t.waitFor("DEEPSCOPE-EXIT:1")
        #expect(r.ok, "a bad file should exit with status 1:\n\(r.screen)")
        #expect(r.screen.contains("Error:"))
        #expect(try !t.alternateScreenOn())
    }

    @Test(.enabled(if: haveProgram("tmux"))) func tinyTerminalShowsNoticeInsteadOfCrashing() throws {
        let t = try explorer("'\(sample)' --render blocks", columns: 20, rows: 6)
        let r = try t.waitFor("too small")
        #expect(r.ok, "no notice in a tiny terminal:\n\(r.screen)")
        try t.resize(columns: 90, rows: 26)
        #expect(try t.waitFor("frame 0/119").ok)
        try t.send("q")
        #expect(try t.waitFor("DEEPSCOPE-EXIT:0").ok)
    }

    @Test(.enabled(if: haveProgram("tmux"))) func nonUTF8LocaleFallsBackToASCII() throws {
        let t = try explorer("'\(sample)'", env: ["LANG": "C", "LC_ALL": "C"])
        // The notice comes with the first paint; the picture follows once the frame is decoded.
        let r = try t.waitFor { $0.contains("not UTF-8") && $0.contains("@@@") }
        #expect(r.ok, "no notice or no ASCII picture in a C locale:\n\(r.screen)")
        // The picture is ASCII art (the luminance ramp), the separators plain bars.
        #expect(r.screen.contains("@@@") && r.screen.contains(" | "), "\(r.screen)")
        try t.send("q")
        #expect(try t.waitFor("DEEPSCOPE-EXIT:0").ok)
    }
}
