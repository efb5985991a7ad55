import Foundation
import Media
import TestSupport
import Testing

/// `deepscope info` and `deepscope frame`, driven through the built binary.
@Suite struct CommandLineTests {
    @Test func infoJSONHasTheMetadata() throws {
        let url = try GeneratedVideo.startOffset.url
        let result = try runProcess(deepscopeBinary.path, ["info", url.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let decoded = try JSONDecoder().decode(VideoMetadata.self, from: result.stdout)
        #expect(decoded == (try FFmpegVideo(contentsOf: url).metadata))
        // Stable keys that scripts rely on.
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        for key in ["container", "codec", "width", "height", "frameRate", "duration", "frameCount", "rotation", "startTime"] {
            #expect(object?[key] != nil, "missing key \(key)")
        }
    }

    @Test func infoTableNamesTheEssentials() throws {
        let result = try runProcess(deepscopeBinary.path, ["info", assetURL("carphone_pristine.mp4").path])
        #expect(result.status == 0)
        let text = result.stdoutText
        for fragment in ["h264", "176×144", "29.970 fps (30000/1001)", "frames", "120", "4.004 s"] {
            #expect(text.contains(fragment), "missing \(fragment) in\n\(text)")
        }
    }

    @Test func frameWritesTheExactFrame() throws {
        let folder = try GeneratedVideos.shared.scratch()
        let url = try GeneratedVideo.bFrames.url
        let reference = try referenceFrames(url, width: 64, height: 48)
        for k in [0, 17, 39] {
            let out = folder.appendingPathComponent("f\(k).png")
            let result = try runProcess(deepscopeBinary.path, ["frame", url.path, "--index", "\(k)", "--out", out.path])
            #expect(result.status == 0, "\(result.stderr)")
            let same = try PNG.read(contentsOf: out) == reference[k]
            #expect(same, "frame \(k)")
        }
    }

    @Test func frameUprightMatchesTheCLIsAutorotate() throws {
        let folder = try GeneratedVideos.shared.scratch()
        let url = try GeneratedVideo.rotated.url
        let out = folder.appendingPathComponent("upright.png")
        let result = try runProcess(deepscopeBinary.path, ["frame", url.path, "--index", "4", "--upright", "--out", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let same = try PNG.read(contentsOf: out) == referenceFrames(url, width: 48, height: 64, autorotate: true)[4]
        #expect(same)
    }

    @Test(arguments: [
        ["info", "/nonexistent/video.mp4"],
        ["frame", "/nonexistent/video.mp4", "--index", "0", "--out", "/tmp/x.png"],
        ["frame", "ASSET", "--index", "500", "--out", "/tmp/deepscope-never.png"],
        ["frame", "ASSET", "--index", "0", "--render", "kitty"],
        ["frame", "ASSET", "--index", "0"],
    ])
    func errorsAreOneLineWithAFailingStatus(_ arguments: [String]) throws {
        let resolved = arguments.map { $0 == "ASSET" ? assetURL("carphone_pristine.mp4").path : $0 }
        let result = try runProcess(deepscopeBinary.path, resolved)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// `frame --render sixel` writes a sixel image that a real decoder (libsixel's sixel2png) turns back into the
    /// frame at the requested width; `blocks` writes one line of half blocks per two pixel rows.
    @Test func frameRendersInTheTerminalModes() throws {
        let sample = assetURL("carphone_pristine.mp4").path
        let sixel = try runProcess(deepscopeBinary.path, ["frame", sample, "--index", "3", "--render", "sixel",
                                                          "--columns", "20"], environment: ["NO_COLOR": ""])
        #expect(sixel.status == 0, "\(sixel.stderr)")
        #expect(sixel.stdoutText.hasPrefix("\u{1B}P") && sixel.stdoutText.contains("\u{1B}\\"))
        if haveProgram("sixel2png") {
            let folder = try makeTemporaryDirectory()
            let six = folder.appendingPathComponent("f.six"), png = folder.appendingPathComponent("f.png")
            try sixel.stdout.write(to: six)
            let decoded = try runProcess("sixel2png", ["-i", six.path, "-o", png.path])
            #expect(decoded.status == 0, "\(decoded.stderr)")
            let image = try PNG.read(contentsOf: png)
            // 20 columns of the default 10-pixel cell; the height keeps the 176:144 aspect in whole sixel bands.
            #expect(image.width == 200 && image.height % 6 == 0 && abs(image.height - 164) <= 6)
        }
        let blocks = try runProcess(deepscopeBinary.path, ["frame", sample, "--index", "3", "--render", "blocks",
                                                           "--columns", "44"],
                                    environment: ["NO_COLOR": "", "COLORTERM": "truecolor"])
        #expect(blocks.status == 0)
        let lines = blocks.stdoutText.split(separator: "\n")
        #expect(lines.count == 18, "44 columns of a 176×144 frame are 18 rows of half blocks")
        #expect(blocks.stdoutText.contains("38;2;") && blocks.stdoutText.contains("▀"))
    }
}
