"""Golden fixtures for deepscope's Explain module (Tests/ExplainTests).

Run with the oracle venv from the repository root:
    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_explain.py

CAM maps come from pytorch-grad-cam itself (GradCAM, GradCAMPlusPlus, LayerCAM) on the reduced models the
Models fixtures already commit (their checkpoints are reloaded here, nothing is retrained), so this script only
adds maps: EfficientNet (timm layout, 2 classes), Xception (timm legacy, 2 classes), ResNet-18 (3 classes) with
the predicted class, and EfficientNetAutoAtt (1 logit) with BinaryClassifierOutputTarget(0), the "real" map.
The Bonettini attention map is the AutoAtt model's sigmoid map, bilinearly upsampled by torch.

LTPA has no library: the reference model is written below from Jetley et al. ("Learn to pay attention", the
"pc" compatibility) on a reduced efficientnet_pytorch backbone, with PyTorch key names deepscope binds verbatim.

The metric fixture is an independent numpy implementation of DESIGN.md's I, V, tau, rho, mu on small maps,
including the edge cases (constant maps, one frame, all-zero maps).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import save_file, load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_models_effnet as me  # noqa: E402
import make_models_cnn as mc  # noqa: E402
import timm  # noqa: E402
import torchvision  # noqa: E402
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus, LayerCAM  # noqa: E402
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget, ClassifierOutputTarget  # noqa: E402

ROOT = me.ROOT
OUT = os.path.join(ROOT, "Tests", "Fixtures", "explain")
METHODS = {"gradcam": GradCAM, "gradcampp": GradCAMPlusPlus, "layercam": LayerCAM}


def floats(state):
    return {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}


def cams(model, layer_name, x, targets):
    layer = dict(model.named_modules())[layer_name]
    out = {}
    for name, cls in METHODS.items():
        with cls(model=model, target_layers=[layer]) as cam:
            out[name] = torch.from_numpy(cam(input_tensor=x, targets=targets))
    return out


# MARK: - CAM family

def effnet_cams():
    x = torch.from_numpy(np.load(os.path.join(ROOT, "Tests/Fixtures/models/effnet_input.npy")))
    model, layer = me.build("timm")
    model.load_state_dict(floats(torch.load(os.path.join(ROOT, "Tests/Fixtures/models/effnet_timm/weights.pth"))))
    model.eval()
    classes = model(x).argmax(1).tolist()
    maps = cams(model, layer, x, [ClassifierOutputTarget(k) for k in classes])
    save_file({k: v.contiguous() for k, v in maps.items()}, os.path.join(OUT, "cam_effnet_timm.safetensors"))
    print("effnet timm classes", classes)

    model, layer = me.build("autoatt")
    model.load_state_dict(floats(torch.load(os.path.join(ROOT, "Tests/Fixtures/models/effnet_autoatt/weights.pth"))))
    model.eval()
    real = cams(model, layer, x, [BinaryClassifierOutputTarget(0)] * len(x))["gradcam"]
    with torch.no_grad():
        model(x)
        att = model.efficientnet.last_attention
    up = F.interpolate(att, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    save_file({"gradcam_real": real.contiguous(), "attention_up": up.contiguous()},
              os.path.join(OUT, "cam_autoatt.safetensors"))


def xception_cams():
    widths = {32: 8, 64: 8, 128: 16, 256: 16, 728: 24, 1024: 32, 1536: 48, 2048: 64}
    model = mc.narrow(timm.create_model("legacy_xception", pretrained=False, num_classes=2), widths)
    model.load_state_dict(floats(load_file(os.path.join(ROOT, "Tests/Fixtures/models_cnn/xception_timm.safetensors"))))
    model.eval()
    u8 = load_file(os.path.join(ROOT, "Tests/Fixtures/models_cnn/xception_io.safetensors"))["input"].numpy()[:1]
    x = mc.normalise(u8)
    classes = model(x).argmax(1).tolist()
    maps = cams(model, "conv4", x, [ClassifierOutputTarget(k) for k in classes])
    save_file({k: v.contiguous() for k, v in maps.items()}, os.path.join(OUT, "cam_xception.safetensors"))
    print("xception classes", classes)


def resnet_cams():
    model = mc.narrow(torchvision.models.resnet18(num_classes=3), {c: c // 32 for c in (64, 128, 256, 512)})
    model.load_state_dict(floats(torch.load(os.path.join(ROOT, "Tests/Fixtures/models_cnn/resnet18.pth"))))
    model.eval()
    u8 = load_file(os.path.join(ROOT, "Tests/Fixtures/models_cnn/resnet18_io.safetensors"))["input"].numpy()[:1]
    x = mc.normalise(u8)
    classes = model(x).argmax(1).tolist()
    maps = cams(model, "layer4", x, [ClassifierOutputTarget(k) for k in classes])
    save_file({k: v.contiguous() for k, v in maps.items()}, os.path.join(OUT, "cam_resnet18.safetensors"))
    print("resnet18 classes", classes)


# MARK: - LTPA reference model

class LTPA(nn.Module):
    """EfficientNet backbone + three "pc" attention estimators (Jetley et al.) + a classifier on [g_a^1..3].

    c_i = <u, l_i + W g>, a = softmax over the positions i, g_a = sum_i a_i l_i. W (`projectors.s`) maps the
    global feature g (the pooled head) to the stage's channels; u (`attention.s`) is a 1x1 conv to one channel.
    """

    def __init__(self, net, levels, classes=1):
        super().__init__()
        self.efficientnet = net
        del self.efficientnet._fc
        self.levels = levels
        channels = [net._blocks[i]._block_args.output_filters for i in levels]
        head = net._conv_head.out_channels
        self.projectors = nn.ModuleList([nn.Linear(head, c, bias=False) for c in channels])
        self.attention = nn.ModuleList([nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in channels])
        self.classifier = nn.Linear(sum(channels), classes)

    def forward(self, x):
        net = self.efficientnet
        x = net._swish(net._bn0(net._conv_stem(x)))
        local = []
        for idx, block in enumerate(net._blocks):
            x = block(x, drop_connect_rate=0.0)
            if idx in self.levels:
                local.append(x)
        x = net._swish(net._bn1(net._conv_head(x)))
        g = x.mean(dim=(2, 3))
        pooled, self.maps = [], []
        for l, project, u in zip(local, self.projectors, self.attention):
            c = u(l + project(g)[:, :, None, None])
            n, _, h, w = c.shape
            a = torch.softmax(c.view(n, -1), dim=1).view(n, 1, h, w)
            self.maps.append(a)
            pooled.append((a * l).sum(dim=(2, 3)))
        return self.classifier(torch.cat(pooled, dim=1))


def ltpa_fixture():
    x = torch.from_numpy(np.load(os.path.join(ROOT, "Tests/Fixtures/models/effnet_input.npy")))
    crops = me.frames(me.INPUT, 24)
    torch.manual_seed(2)
    model = LTPA(me.lukemelas(), levels=[2, 4, 6])
    me.calibrate(model, crops)
    with torch.no_grad():
        # Random heads give near-uniform softmax maps; larger u makes the attention visibly peaked.
        for u in model.attention:
            u.weight.mul_(8)
        for t in model.state_dict().values():
            if t.dtype == torch.float32:
                t.copy_(t.half().float())
        logits = model(x)
    out = os.path.join(OUT, "ltpa")
    os.makedirs(out, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
               os.path.join(out, "weights.pth"))
    io = {"logits": logits}
    for s, a in enumerate(model.maps):
        io[f"level{s + 1}"] = a[:, 0]
        print(f"ltpa level {s + 1}: {tuple(a.shape)} max {a.max():.4f} min {a.min():.5f}")
    # The explainer's output for level 2: upsampled by torch, each item divided by its maximum.
    up = F.interpolate(model.maps[1], size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]
    io["level2_up"] = up / up.amax(dim=(1, 2), keepdim=True)
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(out, "io.safetensors"))
    manifest = {"schema": 1, "name": "reduced EfficientNet-LTPA", "architecture": "efficientnet-ltpa",
                "variant": me.VARIANT, "padding": "lukemelas-0.7", "weights": "weights.pth", "keyPrefix": "",
                "input": {"size": me.INPUT}}
    with open(os.path.join(out, "detector.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("ltpa logits", logits[:, 0].tolist())


# MARK: - Metrics (independent numpy implementation of DESIGN.md)

def metrics(maps):
    m = np.maximum(np.asarray(maps, dtype=np.float64), 0)
    top = m.max() if m.size else 0
    if top > 0:
        m = m / top
    T, H, W = m.shape
    I = float(np.mean([f.mean() for f in m])) if T else 0.0
    V = float(np.mean([f.var() for f in m])) if T else 0.0
    taus = []
    for a, b in zip(m[:-1], m[1:]):
        if np.ptp(a) > 0 and np.ptp(b) > 0:  # a constant map has no correlation
            taus.append(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    d = int(np.floor(0.1 * min(H, W) + 0.5))
    rhos = []
    for f in m:
        c = f - f.mean()
        if np.ptp(f) == 0:  # constant: no autocorrelation to normalise by
            continue
        a0 = (c * c).mean()

        def a(dy, dx):
            return (c[:H - dy, :W - dx] * c[dy:, dx:]).mean()
        rhos.append(np.mean([0.5 * (a(d * s, 0) + a(0, d * s)) / a0 for s in (1, 2, 3)]))
    h, w = int(np.floor(H / np.sqrt(2) + 0.5)), int(np.floor(W / np.sqrt(2) + 0.5))
    r0, c0 = (H - h) // 2, (W - w) // 2
    mus = [f[r0:r0 + h, c0:c0 + w].sum() / f.sum() for f in m if f.sum() > 0]

    def avg(v):
        return float(np.mean(v)) if len(v) else 0.0
    return {"I": I, "V": V, "tau": avg(taus), "rho": avg(rhos), "mu": avg(mus)}


def metric_cases():
    rng = np.random.default_rng(6)
    H, W = 12, 16
    yy, xx = np.mgrid[0:H, 0:W]
    blob = [np.exp(-((yy - 4 - 0.5 * t) ** 2 + (xx - 5 - t) ** 2) / 10.0) for t in range(5)]
    cases = {
        "blobs": [b * 3 + 0.2 * rng.standard_normal((H, W)) for b in blob],
        "noise": list(rng.standard_normal((4, H, W))),
        "one_frame": [blob[2]],
        "constant": [np.full((H, W), 0.7), np.full((H, W), 0.7), np.full((H, W), 0.3)],
        "zeros": [np.zeros((H, W)), np.zeros((H, W))],
        "mixed": [np.zeros((H, W)), blob[0], np.full((H, W), 2.0), -blob[1]],
    }
    out = {}
    for name, maps in cases.items():
        arr = np.asarray(maps, dtype=np.float64).round(5)
        out[name] = {"shape": list(arr.shape), "maps": [float(v) for v in arr.ravel()],
                     "expected": metrics(arr.astype(np.float32))}
        print(name, out[name]["expected"])
    with open(os.path.join(OUT, "metrics.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    which = sys.argv[1:] or ["cam", "ltpa", "metrics"]
    if "cam" in which:
        effnet_cams()
        xception_cams()
        resnet_cams()
    if "ltpa" in which:
        ltpa_fixture()
    if "metrics" in which:
        metric_cases()
