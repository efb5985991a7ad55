import Faces
import Foundation

// MARK: - Presets

/// Manifests for public detector releases, so a user passes only the checkpoint:
/// `--detector icpr2020dfdc:EfficientNetAutoAttB4 --weights EfficientNetAutoAttB4_DFDC_bestval.pth`.
///
/// Each preset carries the release's own preprocessing, crop policy, key layout and head, as its code does them.
public enum DetectorPresets {
    /// A preset: its `family:model` name, a one-line origin, and how to build its manifest.
    public struct Preset: Sendable {
        public let name: String
        public let summary: String
        let make: @Sendable () -> DetectorManifest

        /// The preset's manifest (no weights file: `--weights` supplies it).
        public var manifest: DetectorManifest { make() }
    }

    /// Every preset, in the order `deepscope detectors` lists them.
    public static let all: [Preset] = icpr + [ffppXception] + deepfakeBench + [sbi]

    /// The preset called `name` (case-insensitive), or nil.
    public static func named(_ name: String) -> Preset? {
        all.first { $0.name.lowercased() == name.lowercased() }
    }

    // MARK: - icpr2020dfdc (Bonettini et al.)

    /// architectures/fornet.py: `efficientnet.` + a 1-logit `classifier`; ImageNet normalisation of RGB/255;
    /// faces by the `scale` policy at 224 (the notebooks' `face_policy='scale'`, `face_size=224`).
    static let icpr: [Preset] = {
        func effnet(_ model: String, attention: Bool, siamese: Bool) -> Preset {
            Preset(name: "icpr2020dfdc:\(model)",
                   summary: "Bonettini et al. 2020, \(model) (efficientnet_pytorch B4, sigmoid logit, 224, ImageNet norm)") {
                var m = DetectorManifest(name: "\(model) (icpr2020dfdc)",
                                         architecture: attention ? "efficientnet-autoatt" : "efficientnet",
                                         variant: "b4", padding: "lukemelas-0.7", input: .imagenet(size: 224),
                                         crop: .scale(margin: 0), output: OutputSpec(kind: .sigmoidLogit),
                                         source: "preset icpr2020dfdc:\(model)")
                m.wrapper = siamese ? .siameseTuning : nil
                m.headKey = "classifier.weight"
                m.gradcamLayer = "efficientnet._conv_head"
                m.attentionLayer = attention ? "efficientnet.attconv" : nil
                return m
            }
        }
        func xception(_ model: String, siamese: Bool) -> Preset {
            Preset(name: "icpr2020dfdc:\(model)",
                   summary: "Bonettini et al. 2020, \(model) (Cadene Xception under xception., sigmoid logit, 224, ImageNet norm)") {
                var m = DetectorManifest(name: "\(model) (icpr2020dfdc)", architecture: "xception", variant: "cadene",
                                         input: .imagenet(size: 224), crop: .scale(margin: 0),
                                         output: OutputSpec(kind: .sigmoidLogit), source: "preset icpr2020dfdc:\(model)")
                m.keyPrefix = "xception."
                m.wrapper = siamese ? .siameseTuning : nil
                m.headKey = "last_linear.weight"
                m.gradcamLayer = "conv4"
                return m
            }
        }
        return [effnet("EfficientNetB4", attention: false, siamese: false),
                effnet("EfficientNetB4ST", attention: false, siamese: true),
                effnet("EfficientNetAutoAttB4", attention: true, siamese: false),
                effnet("EfficientNetAutoAttB4ST", attention: true, siamese: true),
                xception("Xception", siamese: false), xception("XceptionST", siamese: true)]
    }()

    // MARK: - FaceForensics++ (Rössler et al.)

    /// classification/network/models.py `TransferModel('xception')`: keys under `model.`, head `last_linear.1`
    /// (2 classes, 1 = fake); detect_from_video.py crops ⌊1.3 · max(w, h)⌋ squares, resizes to 299 and
    /// normalises RGB/255 with mean = std = 0.5.
    static let ffppXception = Preset(name: "ffpp:xception",
                                     summary: "Rössler et al. 2019, FaceForensics++ Xception (softmax real/fake, 299, crop ×1.3)") {
        var m = DetectorManifest(name: "Xception (FaceForensics++)", architecture: "xception", variant: "ffpp",
                                 input: .halves(size: 299), crop: .margin(factor: 1.3),
                                 output: OutputSpec(kind: .softmax, classes: ["real", "fake"]), source: "preset ffpp:xception")
        m.headKey = "model.last_linear.weight"
        m.gradcamLayer = "model.conv4"
        return m
    }

    // MARK: - DeepfakeBench (Yan et al.)

    /// training/config/detector/*.yaml: resolution 256, mean = std = 0.5, 2 classes (1 = fake); networks under
    /// `backbone.` (removed on load like any wrapper prefix). Faces are aligned as preprocessing/preprocess.py's
    /// `img_align_crop(scale=1.3)` does, on MTCNN's five landmarks (DeepfakeBench takes them from dlib's 81).
    static let deepfakeBench: [Preset] = {
        func make(_ model: String, _ summary: String, architecture: String, variant: String? = nil,
                  padding: String? = nil, head: String, gradcam: String?, renames: [String: String] = [:]) -> Preset {
            Preset(name: "deepfakebench:\(model)", summary: "DeepfakeBench \(summary) (softmax real/fake, 256, mean=std=0.5)") {
                var m = DetectorManifest(name: "\(model) (DeepfakeBench)", architecture: architecture, variant: variant,
                                         padding: padding, input: .halves(size: 256), crop: .aligned(scale: 1.3),
                                         output: OutputSpec(kind: .softmax, classes: ["real", "fake"]),
                                         source: "preset deepfakebench:\(model)")
                m.keyRenames = renames
                // efficientnetb4.py's unpadded stem conv: see `InputSpec.trim`.
                if architecture == "efficientnet" { m.input.trim = 1 }
                m.headKey = head
                m.gradcamLayer = gradcam
                return m
            }
        }
        return [
            make("xception", "Xception (FF++ code, adjust_channel unused)", architecture: "xception",
                 variant: "deepfakebench", head: "last_linear.weight", gradcam: "conv4"),
            // efficientnetb4.py keeps efficientnet_pytorch's blocks under `efficientnet.` and its head as `last_layer`.
            make("efficientnetb4", "EfficientNet-B4 (efficientnet_pytorch)", architecture: "efficientnet", variant: "b4",
                 padding: "lukemelas-0.7", head: "classifier.weight", gradcam: "efficientnet._conv_head",
                 renames: ["last_layer.": "classifier."]),
            make("meso4", "Meso4", architecture: "meso4", head: "fc2.weight", gradcam: "conv4"),
            make("meso4Inception", "MesoInception4", architecture: "mesoinception4", head: "fc2.weight", gradcam: "conv2"),
            make("resnet34", "ResNet-34 (torchvision trunk as resnet.N)", architecture: "resnet", variant: "34",
                 padding: "deepfakebench", head: "fc.weight", gradcam: "resnet.7"),
        ]
    }()

    // MARK: - Self-Blended Images (Shiohara & Yamasaki)

    /// src/model.py: `net` = efficientnet_pytorch B4 (advprop) with a 2-way `_fc`, fed RGB/255 without
    /// normalisation at 380; class 1 = fake. Faces as src/inference/preprocess.py crops them: the detector's box
    /// grown by an eighth of its size on every side and squashed to 380×380 (deepscope's box comes from MTCNN,
    /// SBI's from RetinaFace).
    static let sbi = Preset(name: "sbi:efficientnet-b4",
                            summary: "Shiohara & Yamasaki 2022, SBI EfficientNet-B4 (softmax real/fake, 380, RGB/255, box +1/8)") {
        var m = DetectorManifest(name: "EfficientNet-B4 (SBI)", architecture: "efficientnet", variant: "b4",
                                 padding: "lukemelas-0.7", input: InputSpec(size: 380), crop: .box(margin: 0.125),
                                 output: OutputSpec(kind: .softmax, classes: ["real", "fake"]), source: "preset sbi:efficientnet-b4")
        m.keyPrefix = "net."
        m.headKey = "_fc.weight"
        m.gradcamLayer = "_conv_head"
        return m
    }
}
