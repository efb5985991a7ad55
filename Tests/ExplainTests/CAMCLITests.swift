// `deepscope model run --cam` through the real binary: every method's maps, scaled as pytorch-grad-cam scales
// them, equal the library's output.
import Foundation
import Testing
import Explain
import Neural
import TestSupport
import Weights

@Suite(.serialized, .timeLimit(.minutes(1))) struct CAMCLITests {
    let manifest = fixtureURL("models/effnet_timm/detector.json").path
    let input = fixtureURL("models/effnet_input.npy").path

    @Test func camOptionWritesEveryMethodMatchingPytorchGradCAM() throws {
        let out = try makeTemporaryDirectory("explain-cli")
        let r = try runProcess(deepscopeBinary.path, ["model", "run", "--detector", manifest, "--input", input,
                                                      "--out", out.path, "--cam", "gradcam,gradcampp,layercam"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let expected = try ExplainFixture.tensors("explain/cam_effnet_timm.safetensors")
        for method in CAMMethod.allCases {
            let raw = try NumpyFile.read(contentsOf: out.appendingPathComponent(method.rawValue + ".npy"))
            let up = try NumpyFile.read(contentsOf: out.appendingPathComponent(method.rawValue + "_up.npy"))
            #expect(raw.shape == [2, 3, 3] && up.shape == [2, 72, 72])
            // Bilinear resizing commutes with the affine min-max step, so scaling the raw map's resize by the raw
            // map's range, then min-max again, is pytorch-grad-cam's normalise → resize → normalise.
            var ours: [HeatMap] = []
            for i in 0..<2 {
                let r = raw.data[(i * 9)..<((i + 1) * 9)], lo = r.min()!, span = r.max()! - lo
                var v = up.data[(i * 5184)..<((i + 1) * 5184)].map { ($0 - lo) / (1e-7 + span) }
                let vlo = v.min()!, vhi = v.max()! - vlo
                v = v.map { ($0 - vlo) / (1e-7 + vhi) }
                ours.append(HeatMap(width: 72, height: 72, values: v))
            }
            let err = maxAbsDifference(ExplainFixture.values(ours), expected[method.rawValue]!.data)
            #expect(err <= 1e-4, "--cam \(method): error \(err)")
        }
    }

    @Test func unknownMethodIsAOneLineError() throws {
        let out = try makeTemporaryDirectory("explain-cli")
        let r = try runProcess(deepscopeBinary.path, ["model", "run", "--detector", manifest, "--input", input,
                                                      "--out", out.path, "--cam", "gradcam,scorecam"])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("scorecam"), "\(r.stderr)")
    }
}
