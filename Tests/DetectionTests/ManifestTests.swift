// Manifest parsing, validation messages, and --detector resolution.
import Detection
import Faces
import Foundation
import Testing
import TestSupport

@Suite(.timeLimit(.minutes(1))) struct ManifestTests {
    let dir = URL(fileURLWithPath: "/tmp/detectors/x")

    func parse(_ json: String) throws -> DetectorManifest {
        try DetectorManifest.parse(Data(json.utf8), source: "x.json", directory: dir)
    }

    /// The message of the error `json` is refused with.
    func refusal(_ json: String) -> String {
        do { _ = try parse(json); return "accepted" } catch { return "\(error)" }
    }

    @Test func parsesEveryFieldOfTheDesignExample() throws {
        let m = try parse("""
        { "schema": 1, "name": "EfficientNetAutoAttB4 (DFDC)", "architecture": "efficientnet-autoatt", "variant": "b4",
          "padding": "lukemelas-0.7", "weights": "w.pth", "keyPrefix": "",
          "input": { "size": 224, "order": "BGR", "scale": 1, "mean": [0.485,0.456,0.406], "std": [0.229,0.224,0.225] },
          "crop": { "policy": "margin", "factor": 1.3 },
          "output": { "kind": "softmax", "classes": ["real", "df", "f2f"] },
          "explain": { "gradcamLayer": "efficientnet._conv_head", "attention": "efficientnet.attconv" } }
        """)
        #expect(m.name == "EfficientNetAutoAttB4 (DFDC)")
        #expect(m.architecture == "efficientnet-autoatt" && m.variant == "b4" && m.padding == "lukemelas-0.7")
        #expect(m.weights?.path == "/tmp/detectors/x/w.pth")   // relative to the manifest
        #expect(m.input.size == 224 && m.input.bgr && m.input.scale == 1)
        #expect(m.input.mean == [0.485, 0.456, 0.406] && m.input.std == [0.229, 0.224, 0.225])
        #expect(m.crop == .margin(factor: 1.3))
        #expect(m.output.kind == .softmax && m.output.classes == ["real", "df", "f2f"] && m.output.realIndex == 0)
        #expect(m.gradcamLayer == "efficientnet._conv_head" && m.attentionLayer == "efficientnet.attconv")
    }

    @Test func xceptionLayoutBecomesTheFactoryVariant() throws {
        let m = try parse(#"{"architecture":"xception","layout":"ffpp","input":{"size":299},"weights":"/abs/w.pth"}"#)
        #expect(m.variant == "ffpp")
        #expect(m.weights?.path == "/abs/w.pth")
        #expect(m.crop == .scale(margin: 0))   // the default policy
        let aligned = try parse(#"{"architecture":"meso4","input":{"size":256},"crop":{"policy":"align5","scale":1.3}}"#)
        #expect(aligned.crop == .aligned(scale: 1.3))
        let box = try parse(#"{"architecture":"meso4","input":{"size":256},"crop":{"policy":"box"}}"#)
        #expect(box.crop == .box(margin: 0.125))
    }

    @Test func errorsNameTheField() {
        let base = #""architecture":"meso4""#
        let cases: [(String, String)] = [
            ("{\(base),\"input\":{\"size\":-3}}", "field 'input.size' must be a positive integer"),
            ("{\(base),\"input\":{\"size\":2.5}}", "field 'input.size' must be a positive integer"),
            ("{\(base),\"input\":{\"size\":\"224\"}}", "field 'input.size' must be a positive integer"),
            ("{\(base)}", "field 'input' is required"),
            (#"{"input":{"size":32}}"#, "field 'architecture' is required"),
            ("{\(base),\"input\":{\"size\":32,\"mean\":[0.5,0.5]}}", "field 'input.mean' must be a list of three numbers"),
            ("{\(base),\"input\":{\"size\":32,\"std\":[0.5,0,0.5]}}", "field 'input.std'"),
            ("{\(base),\"input\":{\"size\":32,\"order\":\"RBG\"}}", "field 'input.order'"),
            ("{\(base),\"input\":{\"size\":32},\"crop\":{\"policy\":\"tight\"}}", "field 'crop.policy'"),
            ("{\(base),\"input\":{\"size\":32},\"output\":{\"kind\":\"svm\"}}", "field 'output.kind'"),
            ("{\(base),\"input\":{\"size\":32},\"output\":{\"kind\":\"softmax\",\"classes\":[\"a\",\"b\"]}}",
             "field 'output.classes' must include \"real\""),
            ("{\(base),\"input\":{\"size\":32},\"output\":{\"kind\":\"cosine\"}}", "field 'output.parameters' is required"),
            ("{\(base),\"input\":{\"size\":32},\"output\":{\"kind\":\"embedding\",\"classifier\":\"tree\",\"parameters\":\"h.safetensors\"}}",
             "field 'output.classifier'"),
            ("{\(base),\"schema\":2,\"input\":{\"size\":32}}", "field 'schema' must be 1"),
            ("{\(base),\"weights\":7,\"input\":{\"size\":32}}", "field 'weights' must be a string"),
        ]
        for (json, expected) in cases {
            let message = refusal(json)
            #expect(message.hasPrefix("detector manifest x.json: "), "\(json) -> \(message)")
            #expect(message.contains(expected), "\(json) -> \(message)")
        }
        #expect(refusal("[1, 2]") == "detector manifest x.json: not a JSON object")
        #expect(refusal("{ truncated") == "detector manifest x.json: not a JSON object")
    }

    @Test func resolvesPresetsManifestsBundledNamesAndArchitectures() throws {
        let preset = try DetectorManifest.resolve(spec: "icpr2020dfdc:EfficientNetAutoAttB4")
        #expect(preset.architecture == "efficientnet-autoatt" && preset.input.size == 224 && preset.weights == nil)
        #expect(try DetectorManifest.resolve(spec: "ffpp:XCEPTION").crop == .margin(factor: 1.3))
        let tiny = try DetectorManifest.resolve(spec: detectionFixture("tiny/manifest.json").path)
        #expect(tiny.architecture == "meso4" && tiny.weights?.lastPathComponent == "weights.safetensors")
        #expect(try DetectorManifest.resolve(spec: detectionFixture("tiny").path).name == tiny.name)
        #expect(try DetectorManifest.resolve(spec: "efficientnet:b0:timm").padding == "timm")

        let assets = try makeTemporaryDirectory("detection-assets")
        let folder = assets.appendingPathComponent("detectors/demo")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(#"{"name":"Demo","architecture":"meso4","input":{"size":64},"weights":"w.safetensors"}"#.utf8)
            .write(to: folder.appendingPathComponent("manifest.json"))
        let bundled = try DetectorManifest.resolve(spec: "demo", assets: assets)
        #expect(bundled.name == "Demo" && bundled.weights?.path == folder.appendingPathComponent("w.safetensors").path)
        #expect(BundledDetector.all(assets: assets).map(\.name) == ["demo"])

        #expect(throws: DetectionError.self) { try DetectorManifest.resolve(spec: "nosuch:model") }
        do { _ = try DetectorManifest.resolve(spec: "nosuch:model") } catch {
            #expect("\(error)".contains("icpr2020dfdc:EfficientNetAutoAttB4"))
        }
        do { _ = try DetectorManifest.resolve(spec: "/nonexistent/detector.json") } catch {
            #expect("\(error)" == "detector manifest /nonexistent/detector.json: no such file")
        }
    }

    @Test func presetWithoutWeightsSaysToPassThem() {
        do { _ = try Detector.load(spec: "sbi:efficientnet-b4", weights: nil); Issue.record("loaded without weights") } catch {
            #expect("\(error)" == "detector preset sbi:efficientnet-b4: no weights file (pass --weights FILE)")
        }
    }

    /// Every field of a valid manifest replaced by every kind of wrong value: a parse either succeeds or throws a
    /// `DetectionError` naming a field — never traps.
    @Test func wrongValuesEverywhereNeverCrash() throws {
        let valid = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: detectionFixture("tiny/manifest.json"))) as? [String: Any])
        let wrong: [Any] = ["x", -1, 0, 1e300, 2.5, true, NSNull(), [Any](), [1, 2, 3], ["a": 1], ["size": "big"]]
        var refused = 0
        for key in valid.keys.sorted() {
            for value in wrong {
                var top = valid
                top[key] = value
                var objects = [top]
                if var nested = valid[key] as? [String: Any] {
                    for inner in nested.keys.sorted() {
                        let saved = nested[inner]
                        nested[inner] = value
                        var copy = valid
                        copy[key] = nested
                        objects.append(copy)
                        nested[inner] = saved
                    }
                }
                for object in objects {
                    let data = try JSONSerialization.data(withJSONObject: object)
                    do { _ = try DetectorManifest.parse(data, source: "m.json", directory: dir) } catch let e as DetectionError {
                        #expect(e.description.hasPrefix("detector manifest m.json: "))
                        refused += 1
                    }
                }
            }
        }
        #expect(refused > 50)
    }
}
