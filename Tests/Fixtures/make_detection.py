"""Golden fixtures for deepscope's Detection module (Tests/DetectionTests).

Run with the oracle venv from the repository root:
    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_detection.py

Writes Tests/Fixtures/detection/:
- keys/<family>_<model>.json: the key names and shapes of each preset's full-size state_dict, in the release's exact
  layout, built from the public architecture code (efficientnet_pytorch, torchvision, timm's legacy_xception for the
  Cadene/FF++ Xception trunk, whose module names are the same; the wrappers below repeat the releases' wrapper
  classes: icpr2020dfdc fornet.py, FaceForensics++ TransferModel, DeepfakeBench networks, SBI model.py). The tests
  build zero tensors of these shapes and bind them (no large files are committed).
- autoatt_crop.png + parity.json: a 72×72 face crop of the sample video and PyTorch's outputs on it for
  (a) the reduced icpr2020dfdc EfficientNetAutoAttB4 of Tests/Fixtures/models/effnet_autoatt (ImageNet norm),
  (b) the same backbone wrapped in icpr2020dfdc's SiameseTuning (BatchNorm1d + Linear head), stored here as
  autoatt_st.safetensors (float16), and
  (c) tiny/: a DeepfakeBench Meso4 at input 32 (softmax real/fake, mean = std = 0.5) with a manifest, used by the
  CLI tests; tiny_crop.png is its 32×32 input.
- parity.json "dfb_effnet": DeepfakeBench's efficientnetb4.py structure (efficientnet_pytorch with its stem replaced
  by an unpadded nn.Conv2d) on the reduced 3-class weights of Tests/Fixtures/models/effnet_luke07, fed
  autoatt_crop.png with mean = std = 0.5: PyTorch's logits and softmax.
- dfb_align_crop.png + parity.json "dfb_align": DeepfakeBench's img_align_crop(scale=1.3) (skimage
  SimilarityTransform + cv2.warpAffine, as preprocessing/preprocess.py) at 64×64 on a synthetic 176×144 gradient
  frame that the test rebuilds with the same integer formula, for five fixed landmarks.
"""
import json
import os
import sys

import cv2
import numpy as np
import torch
import torchvision
import timm
from torch import nn
from torch.nn import functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "detection")
sys.path.insert(0, os.path.join(ROOT, "Tests", "Fixtures"))
import make_models_effnet as mme  # noqa: E402  (reduced EfficientNet builders; guarded by __main__)
from efficientnet_pytorch import EfficientNet  # noqa: E402

torch.manual_seed(0)
rng = np.random.default_rng(1)


# MARK: - Key layouts of the full-size releases

class IcprGen(nn.Module):
    """fornet.EfficientNetGen / EfficientNetGenAutoAtt: `efficientnet.` (without `_fc`) + `classifier`."""

    def __init__(self, net):
        super().__init__()
        self.efficientnet = net
        self.classifier = nn.Linear(net._conv_head.out_channels, 1)
        del self.efficientnet._fc


def icpr_autoatt_b4():
    net = mme.AutoAtt.from_name("efficientnet-b4")
    net.init_att(9)  # fornet: att_block_idx 9, 1x1 conv over 56 channels
    return IcprGen(net)


class IcprXception(nn.Module):
    """fornet.Xception: the Cadene trunk under `xception.` with a 1-logit `last_linear`."""

    def __init__(self):
        super().__init__()
        self.xception = cadene_xception(1)


class SiameseTuning(nn.Module):
    def __init__(self, feat_ext, features):
        super().__init__()
        self.feat_ext = feat_ext
        self.classifier = nn.Sequential(nn.BatchNorm1d(features), nn.Linear(features, 1))


def cadene_xception(classes):
    """Cadene/FF++ Xception: timm's legacy_xception has the same module tree with the head named `fc`."""
    net = timm.create_model("legacy_xception", pretrained=False, num_classes=classes)
    net.last_linear = net.fc
    del net.fc
    return net


class FFppTransfer(nn.Module):
    """FaceForensics++ TransferModel('xception', dropout=0.5): `model.` + `last_linear` = Dropout, Linear(2048, 2)."""

    def __init__(self):
        super().__init__()
        self.model = cadene_xception(2)
        self.model.last_linear = nn.Sequential(nn.Dropout(0.5), nn.Linear(2048, 2))


class DfbXception(nn.Module):
    """DeepfakeBench xception.py: FF++'s trunk, `last_linear` (2 classes) and the registered `adjust_channel`."""

    def __init__(self):
        super().__init__()
        net = cadene_xception(2)
        for name, module in net.named_children():
            setattr(self, name, module)
        self.adjust_channel = nn.Sequential(nn.Conv2d(2048, 512, 1, 1), nn.BatchNorm2d(512), nn.ReLU(inplace=True))


class DfbEffNet(nn.Module):
    """DeepfakeBench efficientnetb4.py: `efficientnet.` (stem replaced by a plain Conv2d, `_fc` Identity) + `last_layer`."""

    def __init__(self):
        super().__init__()
        self.efficientnet = EfficientNet.from_name("efficientnet-b4")
        self.efficientnet._conv_stem = nn.Conv2d(3, 48, kernel_size=3, stride=2, bias=False)
        self.efficientnet._fc = nn.Identity()
        self.last_layer = nn.Linear(1792, 2)


class DfbResNet34(nn.Module):
    """DeepfakeBench resnet34.py: the torchvision trunk without avgpool/fc as `resnet`, its own `fc`."""

    def __init__(self):
        super().__init__()
        self.resnet = nn.Sequential(*list(torchvision.models.resnet34().children())[:-2])
        self.fc = nn.Linear(512, 2)


class Backbone(nn.Module):
    """DeepfakeBench detectors keep the network as `self.backbone`."""

    def __init__(self, net):
        super().__init__()
        self.backbone = net


class SbiDetector(nn.Module):
    """SBI src/model.py Detector: `net` = EfficientNet-B4 with a 2-way `_fc`."""

    def __init__(self):
        super().__init__()
        self.net = EfficientNet.from_name("efficientnet-b4", num_classes=2)


def meso(kind):
    import make_models_cnn as mmc  # reads the sample video on import
    return mmc.Meso4(2) if kind == "meso4" else mmc.MesoInception4(2)


def write_keys(name, model):
    keys = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    path = os.path.join(OUT, "keys", name.replace(":", "_") + ".json")
    with open(path, "w") as f:
        json.dump({"preset": name, "keys": keys}, f, separators=(",", ":"))
    print(f"{name}: {len(keys)} keys")


def make_keys():
    os.makedirs(os.path.join(OUT, "keys"), exist_ok=True)
    b4 = lambda: IcprGen(EfficientNet.from_name("efficientnet-b4"))
    write_keys("icpr2020dfdc:EfficientNetB4", b4())
    write_keys("icpr2020dfdc:EfficientNetB4ST", SiameseTuning(b4(), 1792))
    write_keys("icpr2020dfdc:EfficientNetAutoAttB4", icpr_autoatt_b4())
    write_keys("icpr2020dfdc:EfficientNetAutoAttB4ST", SiameseTuning(icpr_autoatt_b4(), 1792))
    write_keys("icpr2020dfdc:Xception", IcprXception())
    write_keys("icpr2020dfdc:XceptionST", SiameseTuning(IcprXception(), 2048))
    write_keys("ffpp:xception", FFppTransfer())
    write_keys("deepfakebench:xception", Backbone(DfbXception()))
    write_keys("deepfakebench:efficientnetb4", Backbone(DfbEffNet()))
    write_keys("deepfakebench:meso4", Backbone(meso("meso4")))
    write_keys("deepfakebench:meso4Inception", Backbone(meso("mesoinception4")))
    write_keys("deepfakebench:resnet34", Backbone(DfbResNet34()))
    write_keys("sbi:efficientnet-b4", SbiDetector())


# MARK: - Parity on real crops

def sample_crop(size, frame=0):
    cap = cv2.VideoCapture(os.path.join(ROOT, "assets", "carphone_pristine.mp4"))
    for _ in range(frame + 1):
        ok, bgr = cap.read()
        assert ok
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[10:138, 40:168]
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def save_png(path, rgb):
    cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def to_input(rgb, mean, std):
    x = rgb.astype(np.float32) / 255
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return torch.tensor(x.transpose(2, 0, 1)[None].copy(), dtype=torch.float32)


def reduced_autoatt():
    net = mme.lukemelas(mme.AutoAtt)
    net.init_att(2)
    model = mme.Icpr(net)
    state = torch.load(os.path.join(ROOT, "Tests", "Fixtures", "models", "effnet_autoatt", "weights.pth"))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def make_parity():
    parity = {}
    crop = sample_crop(72, frame=3)
    save_png(os.path.join(OUT, "autoatt_crop.png"), crop)
    x = to_input(crop, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    model = reduced_autoatt()
    with torch.no_grad():
        z = model(x)[0, 0].item()
    parity["autoatt"] = {"logit": z, "probability": float(torch.sigmoid(torch.tensor(z)))}

    # SiameseTuning over the same backbone: BN1d statistics and a Linear head drawn at random, float16-rounded.
    st = SiameseTuning(model, model.classifier.in_features).eval()
    with torch.no_grad():
        bn, lin = st.classifier[0], st.classifier[1]
        d = bn.num_features
        bn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, d)))
        bn.bias.copy_(torch.tensor(rng.normal(0, 0.1, d)))
        bn.running_mean.copy_(torch.tensor(rng.normal(0, 0.2, d)))
        bn.running_var.copy_(torch.tensor(rng.uniform(0.2, 2.0, d)))
        lin.weight.copy_(torch.tensor(rng.normal(0, 0.3, (1, d))))
        lin.bias.fill_(0.1)
        for t in st.state_dict().values():
            if t.dtype == torch.float32:
                t.copy_(t.half().float())
        feats = model.efficientnet._avg_pooling(model.efficientnet.extract_features(x)).flatten(1)
        zst = st.classifier(feats)[0, 0].item()
    save_file({k: v.half() if v.is_floating_point() else v for k, v in st.state_dict().items()},
              os.path.join(OUT, "autoatt_st.safetensors"))
    parity["autoatt_st"] = {"logit": zst, "probability": float(torch.sigmoid(torch.tensor(zst)))}

    # Tiny DeepfakeBench Meso4 at 32: fc1 sized for 32 (16 features), BN statistics from sample-video crops.
    tiny = meso("meso4")
    tiny.fc1 = nn.Linear(16, 16)
    crops = [sample_crop(32, frame=f) for f in range(0, 24, 2)]
    batch = torch.cat([to_input(c, [0.5] * 3, [0.5] * 3) for c in crops])
    with torch.no_grad():
        for m in tiny.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.tensor(rng.uniform(0.6, 1.4, m.num_features)))
                m.bias.copy_(torch.tensor(rng.normal(0, 0.2, m.num_features)))
                m.reset_running_stats()
                m.momentum = None
        tiny.train()
        tiny(batch)
        tiny.eval()
        tiny.fc2.bias.copy_(torch.tensor([0.2, -0.2]))
        crop32 = crops[3]
        save_png(os.path.join(OUT, "tiny_crop.png"), crop32)
        logits = tiny(to_input(crop32, [0.5] * 3, [0.5] * 3))[0]
        probs = torch.softmax(logits, 0)
    os.makedirs(os.path.join(OUT, "tiny"), exist_ok=True)
    save_file({"backbone." + k: v.contiguous() for k, v in tiny.state_dict().items()},
              os.path.join(OUT, "tiny", "weights.safetensors"))
    manifest = {"schema": 1, "name": "tiny Meso4 (test fixture, random weights)", "architecture": "meso4",
                "weights": "weights.safetensors",
                "input": {"size": 32, "order": "RGB", "scale": 255, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]},
                "crop": {"policy": "scale", "margin": 0.1},
                "output": {"kind": "softmax", "classes": ["real", "fake"]},
                "explain": {"gradcamLayer": "conv4"}}
    with open(os.path.join(OUT, "tiny", "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    parity["tiny"] = {"logits": logits.tolist(), "probabilities": probs.tolist(),
                      "logit": (logits[1] - logits[0]).item(), "probability": probs[1].item()}
    with open(os.path.join(OUT, "parity.json"), "w") as f:
        json.dump(parity, f, indent=1)
    print(json.dumps(parity))


# MARK: - DeepfakeBench EfficientNet-B4 (unpadded stem)

def make_dfb_effnet():
    net = mme.lukemelas(classes=3)
    state = torch.load(os.path.join(ROOT, "Tests", "Fixtures", "models", "effnet_luke07", "weights.pth"))
    net.load_state_dict({k: v.float() for k, v in state.items()})
    plain = nn.Conv2d(3, net._conv_stem.out_channels, kernel_size=3, stride=2, bias=False)
    with torch.no_grad():
        plain.weight.copy_(net._conv_stem.weight)
    net._conv_stem = plain
    net.eval()
    crop = cv2.cvtColor(cv2.imread(os.path.join(OUT, "autoatt_crop.png")), cv2.COLOR_BGR2RGB)
    with torch.no_grad():
        x = to_input(crop, [0.5] * 3, [0.5] * 3)
        features = F.adaptive_avg_pool2d(net.extract_features(x), (1, 1)).flatten(1)
        logits = net._fc(features)[0]
    path = os.path.join(OUT, "parity.json")
    parity = json.load(open(path))
    parity["dfb_effnet"] = {"logits": logits.tolist(), "probabilities": torch.softmax(logits, 0).tolist()}
    with open(path, "w") as f:
        json.dump(parity, f, indent=1)
    print("dfb_effnet", parity["dfb_effnet"])


# MARK: - DeepfakeBench alignment

GRADIENT_LANDMARKS = [[77.5, 61.75], [98.5, 56.5], [91.25, 69.0], [85.0, 83.25], [101.75, 79.25]]


def gradient_frame():
    """176×144 RGB: R = 255x // 175, G = 255y // 143, B = 255(x + y) // 318 (integer arithmetic on both sides)."""
    y, x = np.mgrid[0:144, 0:176]
    return np.stack([255 * x // 175, 255 * y // 143, 255 * (x + y) // 318], axis=2).astype(np.uint8)


def dfb_img_align_crop(img, landmark, outsize, scale=1.3):
    """DeepfakeBench preprocessing/preprocess.py img_align_crop, restated."""
    from skimage import transform as trans
    dst = np.array([[30.2946, 51.6963], [65.5318, 51.5014], [48.0252, 71.7366], [33.5493, 92.3655],
                    [62.7299, 92.2041]], dtype=np.float32)
    dst[:, 0] += 8.0
    dst[:, 0] = dst[:, 0] * outsize[0] / 112
    dst[:, 1] = dst[:, 1] * outsize[1] / 112
    margin = scale - 1
    xm, ym = outsize[0] * margin / 2.0, outsize[1] * margin / 2.0
    dst[:, 0] += xm
    dst[:, 1] += ym
    dst[:, 0] *= outsize[0] / (outsize[0] + 2 * xm)
    dst[:, 1] *= outsize[1] / (outsize[1] + 2 * ym)
    tform = trans.SimilarityTransform()
    tform.estimate(np.array(landmark, np.float32), dst)
    return cv2.warpAffine(img, tform.params[0:2, :], (outsize[1], outsize[0]))


def make_alignment():
    crop = dfb_img_align_crop(gradient_frame(), GRADIENT_LANDMARKS, (64, 64))
    save_png(os.path.join(OUT, "dfb_align_crop.png"), crop)
    path = os.path.join(OUT, "parity.json")
    parity = json.load(open(path))
    parity["dfb_align"] = {"landmarks": GRADIENT_LANDMARKS, "size": 64, "scale": 1.3}
    with open(path, "w") as f:
        json.dump(parity, f, indent=1)


if __name__ == "__main__":
    which = sys.argv[1:] or ["keys", "parity", "align", "dfb_effnet"]
    if "keys" in which:
        make_keys()
    if "parity" in which:
        make_parity()
    if "align" in which:
        make_alignment()
    if "dfb_effnet" in which:
        make_dfb_effnet()
