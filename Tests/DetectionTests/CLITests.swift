// `deepscope detectors`, `analyze` and `evaluate` through the real binary on the bundled sample video.
import Foundation
import Testing
import TestSupport

@Suite(.serialized, .timeLimit(.minutes(1))) struct CLITests {
    let tiny = detectionFixture("tiny/manifest.json").path
    let sample = assetURL("carphone_pristine.mp4").path

    func run(_ args: [String]) throws -> ProcessResult { try runProcess(deepscopeBinary.path, args) }

    func json(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// A 64×64 black video of `frames` frames (no face anywhere), made with the FFmpeg CLI.
    func blankVideo(in dir: URL, frames: Int = 6) throws -> String {
        let path = dir.appendingPathComponent("blank.mp4").path
        let r = try runProcess("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "color=c=black:s=64x64:r=10", "-frames:v", "\(frames)",
                                          "-pix_fmt", "yuv420p", "-y", path])
        try #require(r.status == 0, "ffmpeg: \(r.stderr)")
        return path
    }

    @Test func detectorsListsEveryPreset() throws {
        let r = try run(["detectors"])
        #expect(r.status == 0, "\(r.stderr)")
        for name in ["icpr2020dfdc:EfficientNetAutoAttB4", "icpr2020dfdc:EfficientNetB4ST", "ffpp:xception",
                     "deepfakebench:meso4Inception", "deepfakebench:resnet34", "sbi:efficientnet-b4"] {
            #expect(r.stdoutText.contains(name + " "), "\(name) missing")
        }
    }

    @Test func analyzeWritesFramesAndSummaryThatAgree() throws {
        let out = try makeTemporaryDirectory("analyze")
        let r = try run(["analyze", sample, "--detector", tiny, "--frames", "0:12:2", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOf: out.appendingPathComponent("frames.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 6)
        var logits: [Double] = [], probs: [Double] = []
        for (i, line) in lines.enumerated() {
            let frame = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((frame["frame"] as? Int) == i * 2)
            let faces = try #require(frame["faces"] as? [[String: Any]])
            #expect(faces.count == 1)
            for f in faces {
                let classes = try #require(f["classes"] as? [String: Double])
                let p = try #require(f["prob"] as? Double)
                #expect(abs(classes["fake"]! - p) < 1e-6 && abs(classes["real"]! + p - 1) < 1e-5)
                #expect((f["box"] as? [Double])?.count == 4 && (f["landmarks"] as? [[Double]])?.count == 5)
                #expect((f["predicted"] as? String) == (p >= 0.5 ? "fake" : "real"))
                logits.append(try #require(f["score"] as? Double)); probs.append(p)
            }
        }
        let summary = try json(out.appendingPathComponent("summary.json"))
        let agg = try #require(summary["aggregates"] as? [String: Any])
        let meanLogit = logits.reduce(0, +) / Double(logits.count)
        #expect(abs((agg["meanLogit"] as! Double) - meanLogit) < 1e-5)
        #expect(abs((agg["mean"] as! Double) - 1 / (1 + exp(-meanLogit))) < 1e-5)
        let trackMean = probs.reduce(0, +) / Double(probs.count)   // one track
        #expect(abs((agg["MT"] as! Double) - trackMean) < 1e-5 && abs((agg["AT"] as! Double) - trackMean) < 1e-5)
        #expect((agg["MF"] as! Double) == Double(probs.filter { $0 >= 0.5 }.count) / Double(probs.count))
        #expect(((summary["detector"] as? [String: Any])?["head"] as? String) == "softmax")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent(".frames.jsonl.partial").path))
    }

    @Test func analyzeReportsAVideoWithoutFaces() throws {
        try #require(haveProgram("ffmpeg"))
        let dir = try makeTemporaryDirectory("analyze-blank")
        let blank = try blankVideo(in: dir)
        let r = try run(["analyze", blank, "--detector", tiny, "--out", dir.appendingPathComponent("out").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("no face in 6 frames"))
        let summary = try json(dir.appendingPathComponent("out/summary.json"))
        #expect((summary["aggregates"] as? [String: Any])?["mean"] is NSNull)
        #expect(((summary["notes"] as? [String])?.first ?? "").contains("no face was scored"))
    }

    @Test func analyzeShardsAVideoList() throws {
        let dir = try makeTemporaryDirectory("analyze-shard")
        let a = dir.appendingPathComponent("a.mp4"), b = dir.appendingPathComponent("b.mp4")
        try FileManager.default.copyItem(atPath: sample, toPath: a.path)
        try FileManager.default.copyItem(atPath: sample, toPath: b.path)
        let out = dir.appendingPathComponent("out")
        let r = try run(["analyze", a.path, b.path, "--detector", tiny, "--frames", "0:2", "--shard", "1/2", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("a.mp4").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("b.mp4/summary.json").path))
        let bad = try run(["analyze", a.path, "--detector", tiny, "--shard", "2/2", "--out", out.path])
        #expect(bad.status != 0 && bad.stderr.contains("--shard 2/2: expected I/N with 0 ≤ I < N"))
    }

    @Test func badDetectorsAreOneLineErrors() throws {
        let dir = try makeTemporaryDirectory("analyze-errors")
        let manifest = dir.appendingPathComponent("bad.json")
        try Data(#"{"architecture":"meso4","input":{"size":-1}}"#.utf8).write(to: manifest)
        let out = dir.appendingPathComponent("out").path
        let cases: [([String], String)] = [
            (["--detector", manifest.path], "detector manifest \(manifest.path): field 'input.size' must be a positive integer"),
            (["--detector", "sbi:efficientnet-b4"], "no weights file (pass --weights FILE)"),
            (["--detector", "nosuch:thing"], "not a manifest file, a bundled detector or a preset"),
            (["--detector", "deepfakebench:xception", "--weights", detectionFixture("tiny/weights.safetensors").path],
             "the checkpoint does not fit xception"),
            (["--detector", tiny, "--weights", dir.appendingPathComponent("none.pth").path], "none.pth"),
        ]
        let notAFolder = try run(["analyze", sample, "--detector", tiny, "--frames", "0:1", "--out", manifest.path])
        #expect(notAFolder.status != 0 && notAFolder.stderr.contains("exists and is not a folder"), "\(notAFolder.stderr)")
        let corrupt = dir.appendingPathComponent("corrupt.mp4")
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: corrupt)
        let videoFailure = try run(["analyze", corrupt.path, "--detector", tiny, "--out", out])
        #expect(videoFailure.status != 0 && videoFailure.stderr.contains("corrupt.mp4"), "\(videoFailure.stderr)")
        #expect(videoFailure.stderr.split(separator: "\n").count == 1, "\(videoFailure.stderr)")
        for (args, message) in cases {
            let r = try run(["analyze", sample, "--frames", "0:1", "--out", out] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
    }

    @Test func evaluateScoresAListAndReportsSkippedVideos() throws {
        try #require(haveProgram("ffmpeg"))
        let dir = try makeTemporaryDirectory("evaluate")
        try FileManager.default.copyItem(atPath: sample, toPath: dir.appendingPathComponent("copy.mp4").path)
        _ = try blankVideo(in: dir)
        let list = dir.appendingPathComponent("list.csv")
        try Data("path,label\n\(sample),real\ncopy.mp4,1\nmissing.mp4,1\nblank.mp4,0\n".utf8).write(to: list)
        let out = dir.appendingPathComponent("out")
        let r = try run(["evaluate", list.path, "--detector", tiny, "--frames", "0:6:3", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.contains("video-mean") && r.stdoutText.contains("frame") && r.stdoutText.contains("HTER@EER"))
        #expect(r.stderr.contains("skipped \(dir.appendingPathComponent("missing.mp4").path): file not found"))
        let metrics = try json(out.appendingPathComponent("metrics.json"))
        #expect((metrics["skipped"] as? [[String: String]])?.count == 2 && (metrics["videos"] as? Int) == 2)
        // The two scored videos are the same footage labelled real and fake: every score ties, so AUC is 0.5.
        let levels = try #require(metrics["levels"] as? [String: [String: Any]])
        for level in ["video-mean", "video-mf", "video-mt", "video-at", "frame"] {
            #expect((levels[level]?["auc"] as? Double) == 0.5, "\(level)")
        }
        #expect((levels["frame"]?["count"] as? Int) == 4)
        for file in ["metrics.csv", "scores.csv", "roc.png"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        let png = try Data(contentsOf: out.appendingPathComponent("roc.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))

        // One class only: the threshold metrics are defined, AUC and EER are null with a note saying why.
        let fakes = dir.appendingPathComponent("fakes.csv")
        try Data("\(sample),fake\ncopy.mp4,fake\n".utf8).write(to: fakes)
        let oneClass = try run(["evaluate", fakes.path, "--detector", tiny, "--frames", "0:2", "--out", out.appendingPathComponent("one").path])
        #expect(oneClass.status == 0, "\(oneClass.stderr)")
        #expect(oneClass.stdoutText.contains("note: only one class (fake)"))
        let one = try #require(try json(out.appendingPathComponent("one/metrics.json"))["levels"] as? [String: [String: Any]])
        #expect(one["video-mean"]?["auc"] is NSNull && one["video-mean"]?["atEER"] is NSNull)
        #expect((one["video-mean"]?["atHalf"] as? [String: Any])?["recall"] is Double)

        let unlabelled = dir.appendingPathComponent("unlabelled.csv")
        try Data("path,label\n\(sample),maybe\n".utf8).write(to: unlabelled)
        let badLabel = try run(["evaluate", unlabelled.path, "--detector", tiny, "--out", out.path])
        #expect(badLabel.status != 0 && badLabel.stderr.contains("line 2: label 'maybe' must be 0, 1, real or fake"), "\(badLabel.stderr)")

        let none = dir.appendingPathComponent("none.csv")
        try Data("missing.mp4,1\n".utf8).write(to: none)
        let failed = try run(["evaluate", none.path, "--detector", tiny, "--out", out.path])
        #expect(failed.status != 0 && failed.stderr.contains("no video of"))
    }
}
