// `deepscope model run` and `bench model` through the real binary, on the reduced AutoAtt fixture.
import Foundation
import Testing
import Neural
import TestSupport
import Weights

@Suite(.serialized) struct EfficientNetCLITests {
    let manifest = fixtureURL("models/effnet_autoatt/detector.json").path
    let input = fixtureURL("models/effnet_input.npy").path

    func run(_ args: [String]) throws -> ProcessResult { try runProcess(deepscopeBinary.path, args) }

    @Test func modelRunWritesEveryOutputMatchingPyTorch() throws {
        let out = try makeTemporaryDirectory("effnet-cli")
        let r = try run(["model", "run", "--detector", manifest, "--input", input, "--out", out.path,
                         "--activations", "efficientnet._blocks.2"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        func read(_ dir: URL, _ name: String) throws -> Tensor {
            try NumpyFile.read(contentsOf: dir.appendingPathComponent(name + ".npy"))
        }
        let fixture = fixtureURL("models/effnet_autoatt")
        for name in ["logits", "attention", "efficientnet._blocks.2"] {
            expectScaled(try read(out, name), try read(fixture, name), 1e-4, "CLI \(name)")
        }
        let cam = try read(out, "gradcam"), up = try read(out, "gradcam_up")
        expectScaled(cam, try read(fixture, "gradcam"), 1e-3, "CLI gradcam")
        // gradcam_up is cv2.resize INTER_LINEAR of the raw map.
        expectScaled(up, try read(fixture, "gradcam_up"), 1e-3, "CLI gradcam_up")
        // pytorch-grad-cam's own output: normalise the raw map, resize, normalise again (resize is linear, so
        // normalising the resized raw map with the raw map's range is the same first step).
        let pgc = try read(fixture, "gradcam_pgc")
        let per = cam.count / cam.shape[0], perUp = up.count / up.shape[0]
        var ours = up
        for i in 0..<cam.shape[0] {
            let raw = cam.data[(i * per)..<((i + 1) * per)]
            let lo = raw.min()!, span = raw.max()! - lo
            for j in 0..<perUp { ours.data[i * perUp + j] = (up.data[i * perUp + j] - lo) / (1e-7 + span) }
        }
        expectClose(minMaxScaled(ours).data, pgc.data, atol: 1e-4, rtol: 0, "CLI vs pytorch-grad-cam")
    }

    @Test func classZeroExplainsTheOtherSignOfTheLogit() throws {
        let fake = try makeTemporaryDirectory("effnet-cli"), real = try makeTemporaryDirectory("effnet-cli")
        #expect(try run(["model", "run", "--detector", manifest, "--input", input, "--out", fake.path, "--class", "1"]).status == 0)
        #expect(try run(["model", "run", "--detector", manifest, "--input", input, "--out", real.path, "--class", "0"]).status == 0)
        let a = try NumpyFile.read(contentsOf: fake.appendingPathComponent("gradcam.npy"))
        let b = try NumpyFile.read(contentsOf: real.appendingPathComponent("gradcam.npy"))
        // y = −z flips every α, so the two ReLU maps are the positive and negative parts of one map.
        #expect(zip(a.data, b.data).allSatisfy { $0 == 0 || $1 == 0 })
        #expect(a.data.contains { $0 > 0 } && b.data.contains { $0 > 0 })
    }

    @Test func badInputsGiveOneLineErrors() throws {
        let out = try makeTemporaryDirectory("effnet-cli")
        let cases: [[String]] = [
            ["model", "run", "--detector", manifest, "--input", "/nonexistent.npy", "--out", out.path],
            ["model", "run", "--detector", "nosuch-arch:b0", "--weights", fixtureURL("models/effnet_luke07/weights.pth").path,
             "--input", input, "--out", out.path],
            ["model", "run", "--detector", "efficientnet:b0:lukemelas-0.7",
             "--weights", fixtureURL("models/effnet_luke07/weights.pth").path, "--input", input, "--out", out.path],
            ["model", "run", "--detector", manifest, "--input", input, "--out", out.path, "--gradcam-layer", "nope"],
        ]
        for args in cases {
            let r = try run(args)
            #expect(r.status != 0, "\(args)")
            let lines = r.stderr.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count == 1, "\(args): \(r.stderr)")
        }
    }

    @Test func benchPrintsTimingsAsJSON() throws {
        let r = try run(["bench", "model", "--detector", manifest, "--size", "72", "--batch", "1", "--runs", "1",
                         "--threads", "1"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        let forward = json?["forward_ms"] as? Double, gradcam = json?["forward_gradcam_ms"] as? Double
        #expect((forward ?? 0) > 0 && (gradcam ?? 0) > 0 && ((json?["peak_rss_mb"] as? Double) ?? 0) > 0)
    }
}
