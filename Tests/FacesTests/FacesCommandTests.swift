import Foundation
import Testing
import TestSupport

/// `deepscope faces` through the real binary.
@Suite("deepscope faces")
struct FacesCommandTests {
    func run(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(deepscopeBinary.path, ["faces"] + arguments)
    }

    @Test("--json prints one object per frame with tracked faces equal to facenet's")
    func jsonLines() throws {
        let video = assetURL("carphone_pristine.mp4").path
        let result = try run([video, "--frames", "10:20:3", "--json", "--mtcnn", mtcnnWeightsDirectory().path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.count == 4)
        let golden = try loadGolden().cases
        for (line, k) in zip(lines, [10, 13, 16, 19]) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["frame"] as? Int == k)
            #expect(abs((object["time"] as? Double ?? -1) - Double(k) * 1001 / 30000) < 1e-3)
            let faces = try #require(object["faces"] as? [[String: Any]])
            let want = try #require(golden.first { $0.name == "frame\(k)" }).faces
            #expect(faces.count == want.count)
            for (face, w) in zip(faces, want) {
                #expect(face["track"] as? Int == 0)
                let box = (face["box"] as? [Double] ?? []).map(Float.init)
                #expect(maxAbsDifference(box, w.box) <= 1)
                #expect(abs(Float(face["prob"] as? Double ?? 0) - w.prob) <= 1e-3)
                #expect((face["landmarks"] as? [[Double]])?.count == 5)
            }
        }
    }

    @Test("bad input is one line on stderr and a non-zero exit", arguments: [
        ["--frames", "5:2"], ["--frames", "x:3"], ["--frames", "500:600"], ["--iou", "0"],
    ])
    func badArguments(extra: [String]) throws {
        let result = try run([assetURL("carphone_pristine.mp4").path, "--json", "--mtcnn", mtcnnWeightsDirectory().path] + extra)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test("missing video and missing weights are named in the error")
    func missingFiles() throws {
        let noVideo = try run(["/nonexistent/clip.mp4", "--json"])
        #expect(noVideo.status != 0 && noVideo.stderr.contains("/nonexistent/clip.mp4"))
        let empty = try makeTemporaryDirectory("faces-cli")
        let noWeights = try run([assetURL("carphone_pristine.mp4").path, "--json", "--mtcnn", empty.path])
        #expect(noWeights.status != 0 && noWeights.stderr.contains("pnet"))
    }
}
