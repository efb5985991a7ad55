// Every preset binds a checkpoint in its release's full-size key layout; wrong presets fail with a suggestion.
import Detection
import Foundation
import Neural
import Testing
import TestSupport
import Weights

@Suite(.serialized, .timeLimit(.minutes(1))) struct PresetTests {
    /// Zero tensors with the key names and shapes of a release's full-size state_dict, as a loaded file gives them
    /// (wrapper prefixes such as DeepfakeBench's `backbone.` removed).
    static func checkpoint(_ preset: String) throws -> [(String, Tensor)] {
        let json = try jsonFixture("keys/" + preset.replacingOccurrences(of: ":", with: "_") + ".json")
        let keys = try #require(json["keys"] as? [[Any]])
        let entries = keys.map { pair -> NamedTensor in
            let shape = (pair[1] as! [NSNumber]).map(\.intValue)
            return NamedTensor(name: pair[0] as! String, tensor: Tensor(shape: shape), dtype: .float32)
        }
        return TensorFile(format: .safetensors, entries: entries).removingCommonPrefixes().namedTensors
    }

    @Test(arguments: DetectorPresets.all.map(\.name))
    func bindsItsReleaseLayout(_ name: String) throws {
        let preset = try #require(DetectorPresets.named(name))
        let detector = try Detector(manifest: preset.manifest, tensors: try Self.checkpoint(name))
        #expect(detector.manifest.source == "preset \(name)")
        #expect(!detector.network.parameterKeys.isEmpty)
    }

    @Test func presetsCarryTheirReleasesPreprocessing() throws {
        let icpr = try #require(DetectorPresets.named("icpr2020dfdc:EfficientNetB4")).manifest
        #expect(icpr.input == .imagenet(size: 224) && icpr.crop == .scale(margin: 0) && icpr.output.kind == .sigmoidLogit)
        let ffpp = try #require(DetectorPresets.named("ffpp:xception")).manifest
        #expect(ffpp.input == .halves(size: 299) && ffpp.crop == .margin(factor: 1.3) && ffpp.output.kind == .softmax)
        let sbi = try #require(DetectorPresets.named("sbi:efficientnet-b4")).manifest
        #expect(sbi.crop == .box(margin: 0.125))
        #expect(sbi.input.size == 380 && sbi.input.mean == [0, 0, 0] && sbi.input.std == [1, 1, 1] && sbi.input.scale == 255)
        for name in ["xception", "efficientnetb4", "meso4", "meso4Inception", "resnet34"] {
            let m = try #require(DetectorPresets.named("deepfakebench:\(name)")).manifest
            var halves = InputSpec.halves(size: 256)
            halves.trim = name == "efficientnetb4" ? 1 : 0   // its unpadded stem (see InputSpec.trim)
            #expect(m.input == halves && m.output.classes == ["real", "fake"] && m.crop == .aligned(scale: 1.3), "\(name)")
        }
    }

    @Test func wrongPresetNamesTheKeysAndSuggestsTheRightOne() throws {
        let icpr = try Self.checkpoint("icpr2020dfdc:EfficientNetB4")
        let sbi = try #require(DetectorPresets.named("sbi:efficientnet-b4")).manifest
        do { _ = try Detector(manifest: sbi, tensors: icpr); Issue.record("bound the wrong layout") } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("detector preset sbi:efficientnet-b4: "), "\(message)")
            #expect(message.contains("net._fc.weight"), "\(message)")
            #expect(message.hasSuffix("fits the preset icpr2020dfdc:EfficientNetB4 (use --detector icpr2020dfdc:EfficientNetB4)"), "\(message)")
        }
        // Same backbone keys, different head: DeepfakeBench's 2-way head is not icpr2020dfdc's single logit.
        let dfb = try Self.checkpoint("deepfakebench:efficientnetb4")
        let icprPreset = try #require(DetectorPresets.named("icpr2020dfdc:EfficientNetB4")).manifest
        do { _ = try Detector(manifest: icprPreset, tensors: dfb); Issue.record("bound a 2-way head as a logit") } catch {
            #expect("\(error)".contains("deepfakebench:efficientnetb4"), "\(error)")
        }
    }

    @Test func missingKeysAreNamed() throws {
        var meso = try Self.checkpoint("deepfakebench:meso4")
        meso.removeAll { $0.0 == "conv3.weight" }
        let preset = try #require(DetectorPresets.named("deepfakebench:meso4")).manifest
        do { _ = try Detector(manifest: preset, tensors: meso); Issue.record("bound with a key missing") } catch {
            #expect("\(error)".contains("missing keys: conv3.weight"), "\(error)")
        }
    }
}
