"""Records the state-dict key names (and, aligned with them, the shapes of weights of rank >= 2) of the architectures
`deepscope model inspect` recognises, taken from the real libraries that define them, with the label of what was
built. The Swift test feeds each key list to ArchitectureGuess. Output: Tests/Fixtures/weights/architectures.json.

Full key lists for small members of each family; for the variant sweeps (EfficientNet B0–B7 in two layouts,
ResNet 18–152) only the keys that count blocks and channels, to keep the fixture small.

Run:  /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_weights_architectures.py
"""
import json
import os
import re

import timm
import torch.nn as nn
import torchvision
from efficientnet_pytorch import EfficientNet
from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "architectures.json")
cases = []


def record(label, state, expect, keep=None):
    names = [k for k in state.keys() if keep is None or re.search(keep, k)]
    shapes = [list(state[k].shape) if state[k].dim() >= 2 else None for k in names]  # aligned with names
    cases.append({"label": label, "names": names, "shapes": shapes, "expect": expect})


def expect(arch, variant=None, layout=None, prefix="", outputs=None):
    return {"architecture": arch, "variant": variant, "layout": layout, "backbonePrefix": prefix, "outputs": outputs}


# MARK: EfficientNet, efficientnet_pytorch layout (and icpr2020dfdc's wrappers of it)
for i in range(8):
    sd = EfficientNet.from_name(f"efficientnet-b{i}").state_dict()
    keep = r"conv\.weight|_conv_head\.weight|_fc\.weight" if i == 0 else r"_depthwise_conv\.weight|_conv_head\.weight|_fc\.weight"
    record(f"efficientnet_pytorch b{i}", sd, expect("efficientnet", f"b{i}", "efficientnet_pytorch", "", 1000), keep)


class IcprAutoAttB4(nn.Module):
    """The module layout of icpr2020dfdc's EfficientNetAutoAttB4: backbone without _fc, a 1x1 attention conv."""

    def __init__(self):
        super().__init__()
        self.efficientnet = EfficientNet.from_name("efficientnet-b4")
        del self.efficientnet._fc
        self.classifier = nn.Linear(1792, 1)
        self.attconv = nn.Conv2d(56, 1, 1)


record("icpr2020dfdc EfficientNetAutoAttB4", IcprAutoAttB4().state_dict(),
       expect("efficientnet-autoatt", "b4", "efficientnet_pytorch", "efficientnet.", 1),
       r"_depthwise_conv\.weight|_conv_head\.weight|classifier|attconv|_conv_stem")

# MARK: EfficientNet, timm layout
for i in range(8):
    sd = timm.create_model(f"efficientnet_b{i}", pretrained=False).state_dict()
    keep = r"conv\w*\.weight|classifier\.weight" if i == 0 else r"conv_dw\.weight|conv_head\.weight|classifier\.weight"
    record(f"timm efficientnet_b{i}", sd, expect("efficientnet", f"b{i}", "timm", "", 1000), keep)
record("timm tf_efficientnet_b4", timm.create_model("tf_efficientnet_b4", pretrained=False, num_classes=2).state_dict(),
       expect("efficientnet", "b4", "timm", "", 2), r"conv_dw\.weight|conv_head\.weight|classifier\.weight|conv_stem")

# MARK: Xception: timm's legacy port, and FaceForensics++'s TransferModel (model.last_linear = Dropout + Linear)
xception = timm.create_model("legacy_xception", pretrained=False).state_dict()
record("timm legacy_xception", xception, expect("xception", None, "timm", "", 1000), r"(conv\d|pointwise|skip|fc)\.weight")
ffpp = {("model." + k.replace("fc.", "last_linear.1.")): v for k, v in xception.items()}
ffpp["model.last_linear.1.weight"] = ffpp["model.last_linear.1.weight"][:2]
record("FF++ xception TransferModel", ffpp, expect("xception", None, "ffpp", "model.", 2), r"block(1|12)\.|conv[34]|last_linear|bn4")

# MARK: torchvision ResNet
for depth in (18, 34, 50, 101, 152):
    sd = getattr(torchvision.models, f"resnet{depth}")(weights=None).state_dict()
    keep = r"\.weight$" if depth == 18 else r"\.conv1\.weight|layer1\.0\.conv3\.weight|^fc\.weight"
    record(f"torchvision resnet{depth}", sd, expect("resnet", str(depth), None, "", 1000), keep)

# MARK: MTCNN (facenet-pytorch)
for cls, stage in ((PNet, "pnet"), (RNet, "rnet"), (ONet, "onet")):
    record(f"facenet-pytorch {stage}", cls(pretrained=False).state_dict(), expect(f"mtcnn-{stage}"))


# MARK: MesoNet (the PyTorch port DeepfakeBench uses; its misspelt "Incption" names are kept verbatim)
class Meso4(nn.Module):
    def __init__(self, num_classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 5, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(8, 16, 5, padding=2, bias=False)
        self.conv4 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, num_classes)


class MesoInception4(nn.Module):
    def __init__(self, num_classes=2):
        super().__init__()
        for block, cin in (("Incption1", 3), ("Incption2", 11)):
            setattr(self, f"{block}_conv1", nn.Conv2d(cin, 1, 1, bias=False))
            setattr(self, f"{block}_conv2_1", nn.Conv2d(cin, 4, 1, bias=False))
            setattr(self, f"{block}_conv2_2", nn.Conv2d(4, 4, 3, padding=1, bias=False))
            setattr(self, f"{block}_conv3_1", nn.Conv2d(cin, 4, 1, bias=False))
            setattr(self, f"{block}_conv3_2", nn.Conv2d(4, 4, 3, padding=2, dilation=2, bias=False))
            setattr(self, f"{block}_conv4_1", nn.Conv2d(cin, 2, 1, bias=False))
            setattr(self, f"{block}_conv4_2", nn.Conv2d(2, 2, 3, padding=3, dilation=3, bias=False))
            setattr(self, f"{block}_bn", nn.BatchNorm2d(11 if block == "Incption1" else 12))
        self.conv1 = nn.Conv2d(12, 16, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, num_classes)


record("Meso4", Meso4().state_dict(), expect("meso4", outputs=2))
record("MesoInception4", MesoInception4().state_dict(), expect("mesoinception4", outputs=2))

# MARK: things that are none of these
record("a bare Linear", nn.Linear(3, 2).state_dict(), None)
record("torchvision vgg11", torchvision.models.vgg11(weights=None).state_dict(), None)

with open(OUT, "w") as f:
    json.dump(cases, f, separators=(",", ":"))
    f.write("\n")
print("wrote", OUT, os.path.getsize(OUT), "bytes,", len(cases), "cases")
