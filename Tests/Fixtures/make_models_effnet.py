"""Golden fixtures for deepscope's EfficientNet family (Tests/ModelsTests/EfficientNet*Tests.swift).

Run with the oracle venv: /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_models_effnet.py

Reduced models (width 0.1, depth 0.25: 7 blocks, ~35k parameters, nominal size 100 fed 72) in each padding convention, built by the
real libraries (efficientnet_pytorch 0.7.1, timm) so key names and padding are theirs. A randomly initialised
EfficientNet in eval mode outputs a constant (activations vanish through the BatchNorms), so the BN running
statistics are re-estimated on real face-sized crops of assets/carphone_pristine.mp4 (train-mode forwards with
momentum=None: a cumulative average) and the BN affine parameters are drawn around 1 and 0. Weights are stored
as float16 in torch zip checkpoints; every expected output is computed by PyTorch on the float16-rounded weights.

GradCAM expectations come from pytorch-grad-cam (GradCAM + ClassifierOutputTarget/BinaryClassifierOutputTarget):
its output is min-max normalised and cv2-resized; the raw ReLU(sum alpha_k A_k) map at the layer's resolution
and the gradient of the target wrt the layer come from hooks on the same module.
"""
import json
import os
import sys

import cv2
import numpy as np
import torch
from torch import nn

import efficientnet_pytorch.utils as eu
from efficientnet_pytorch import EfficientNet
from efficientnet_pytorch.utils import Conv2dStaticSamePadding
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget, ClassifierOutputTarget
import timm.models.efficientnet as te

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models")
WIDTH, DEPTH, RESOLUTION, INPUT = 0.1, 0.25, 100, 72
VARIANT = f"w{WIDTH}d{DEPTH}r{RESOLUTION}"

torch.manual_seed(0)
rng = np.random.default_rng(0)


# MARK: - Real crops

def frames(size, count=24):
    """Face-region crops of the sample video, ImageNet-normalised NCHW float32."""
    cap = cv2.VideoCapture(os.path.join(ROOT, "assets", "carphone_pristine.mp4"))
    out = []
    while len(out) < count:
        ok, f = cap.read()
        if not ok:
            break
        f = cv2.cvtColor(f, cv2.COLOR_BGR2RGB)[10:138, 30:158]  # the speaker's head and shoulders
        f = cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        out.append((f - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225])
    return torch.tensor(np.stack(out).transpose(0, 3, 1, 2), dtype=torch.float32)


# MARK: - Models

class AutoAtt(EfficientNet):
    """EfficientNetAutoAtt as icpr2020dfdc defines it: sigmoid(1x1 conv) after block att_block_idx, multiplied in."""

    def init_att(self, idx):
        self.att_block_idx = idx
        channels = self._blocks[idx]._block_args.output_filters
        self.attconv = nn.Conv2d(kernel_size=1, in_channels=channels, out_channels=1)

    def extract_features(self, x):
        x = self._swish(self._bn0(self._conv_stem(x)))
        for idx, block in enumerate(self._blocks):
            x = block(x, drop_connect_rate=self._global_params.drop_connect_rate * idx / len(self._blocks))
            if idx == self.att_block_idx:
                self.last_attention = torch.sigmoid(self.attconv(x))
                x = x * self.last_attention
        return self._swish(self._bn1(self._conv_head(x)))


class Icpr(nn.Module):
    """icpr2020dfdc's EfficientNetGen / EfficientNetGenAutoAtt wrapper: `efficientnet.` + `classifier`."""

    def __init__(self, net):
        super().__init__()
        self.efficientnet = net
        self.classifier = nn.Linear(net._conv_head.out_channels, 1)
        del self.efficientnet._fc

    def forward(self, x):
        x = self.efficientnet.extract_features(x)
        x = self.efficientnet._avg_pooling(x).flatten(start_dim=1)
        return self.classifier(self.efficientnet._dropout(x))


def lukemelas(cls=EfficientNet, classes=1000):
    blocks, params = eu.efficientnet(width_coefficient=WIDTH, depth_coefficient=DEPTH, image_size=RESOLUTION,
                                     num_classes=classes)
    return cls(blocks, params)


def global_size_padding(model, size):
    """efficientnet_pytorch <= 0.6: every conv padded for the global image size, not its own input size."""
    for m in model.modules():
        if isinstance(m, Conv2dStaticSamePadding):
            kh, kw = m.weight.shape[-2:]
            sh, sw = m.stride
            oh = -(-size // sh)
            ph = max((oh - 1) * sh + (kh - 1) * m.dilation[0] + 1 - size, 0)
            pw = max((oh - 1) * sw + (kw - 1) * m.dilation[1] + 1 - size, 0)
            m.static_padding = nn.ZeroPad2d((pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)) if ph or pw else nn.Identity()
    return model


def build(name):
    if name == "luke07":
        return lukemelas(classes=3), "_conv_head"
    if name == "luke06":
        return Icpr(global_size_padding(lukemelas(), RESOLUTION)), "efficientnet._conv_head"
    if name == "autoatt":
        net = lukemelas(AutoAtt)
        net.init_att(2)  # the last block of the third stage (B4: 9)
        return Icpr(net), "efficientnet._conv_head"
    if name == "timm":
        return te._gen_efficientnet("efficientnet_b0", channel_multiplier=WIDTH, depth_multiplier=DEPTH,
                                    num_classes=2), "conv_head"
    if name == "timmtf":
        return te._gen_efficientnet("tf_efficientnet_b0", channel_multiplier=WIDTH, depth_multiplier=DEPTH,
                                    num_classes=2, bn_eps=1e-3, pad_type="same"), "conv_head"
    raise ValueError(name)


# MARK: - Making the weights meaningful

def calibrate(model, crops):
    """Random BN affine around (1, 0), then running statistics re-estimated on real crops."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.tensor(rng.uniform(0.6, 1.4, m.num_features), dtype=torch.float32))
                m.bias.copy_(torch.tensor(rng.normal(0, 0.2, m.num_features), dtype=torch.float32))
                m.reset_running_stats()
                m.momentum = None
        model.train()
        for batch in crops.split(8):
            model(batch)
        model.eval()
        # Round everything to float16 once: the checkpoint stores float16, and PyTorch must run what Swift reads.
        for t in list(model.state_dict().values()):
            if t.dtype == torch.float32:
                t.copy_(t.half().float())


def save_npy(path, array):
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


# MARK: - Expected outputs

def expected(name, model, layer_name, x, activations, out):
    layer = dict(model.named_modules())[layer_name]
    kept = {}
    handles = [layer.register_forward_hook(lambda m, i, o: kept.__setitem__("A", o))]
    for act in activations:
        module = dict(model.named_modules())[act]
        handles.append(module.register_forward_hook(lambda m, i, o, a=act: kept.__setitem__(a, o)))
    xin = x.clone().requires_grad_(True)
    logits = model(xin)
    single = logits.shape[1] == 1
    cls = [1] * len(x) if single else logits.argmax(1).tolist()
    score = (logits[:, 0] if single else logits[torch.arange(len(x)), cls]).sum()
    A = kept["A"]
    A.retain_grad()
    score.backward()
    for h in handles:
        h.remove()
    grad = A.grad.detach().numpy()
    cam = np.maximum((grad.mean(axis=(2, 3), keepdims=True) * A.detach().numpy()).sum(1), 0)
    up = np.stack([cv2.resize(c.astype(np.float32), (x.shape[3], x.shape[2]), interpolation=cv2.INTER_LINEAR) for c in cam])

    targets = [BinaryClassifierOutputTarget(1) if single else ClassifierOutputTarget(k) for k in cls]
    with GradCAM(model=model, target_layers=[layer]) as gc:
        pgc = gc(input_tensor=x, targets=targets)
    # Cross-check: the library's map is the raw map normalised, resized and normalised again.
    mine = []
    for c in cam:
        a = c - c.min(); a = a / (1e-7 + a.max())
        a = cv2.resize(a.astype(np.float32), (x.shape[3], x.shape[2]))
        a = a - a.min(); mine.append(a / (1e-7 + a.max()))
    assert np.abs(np.stack(mine) - pgc).max() < 1e-5, "raw cam disagrees with pytorch-grad-cam"

    save_npy(os.path.join(out, "logits.npy"), logits.detach().numpy())
    save_npy(os.path.join(out, "gradcam.npy"), cam)
    save_npy(os.path.join(out, "gradcam_grad.npy"), grad)
    if name == "autoatt":
        save_npy(os.path.join(out, "gradcam_up.npy"), up)
        save_npy(os.path.join(out, "gradcam_pgc.npy"), pgc)
        save_npy(os.path.join(out, "attention.npy"), model.efficientnet.last_attention.detach().numpy())
    for act in activations:
        save_npy(os.path.join(out, act + ".npy"), kept[act].detach().numpy())
    spread = float(logits.detach().std(0).mean())
    print(f"{name}: logits {logits.detach().numpy().round(4).tolist()} spread over inputs {spread:.4f}, "
          f"cam {cam.shape}, classes {cls}")
    assert spread > 1e-3, "outputs do not vary with the input"
    return cls


PADDING = {"luke07": "lukemelas-0.7", "luke06": "lukemelas-0.6", "autoatt": "lukemelas-0.7",
           "timm": "timm", "timmtf": "timm-tf"}
ACTIVATIONS = {"luke07": ["_blocks.2", "_bn1"], "luke06": ["efficientnet._blocks.4"],
               "autoatt": ["efficientnet._blocks.2", "efficientnet.attconv"],
               "timm": ["blocks.2.0", "blocks.5"], "timmtf": ["blocks.3.0"]}


def main():
    os.makedirs(OUT, exist_ok=True)
    crops = frames(INPUT, 24)
    # Two crops far apart in time: the batch items differ, so per-item maps are checked.
    x = crops[[3, 20]].contiguous()
    save_npy(os.path.join(OUT, "effnet_input.npy"), x.numpy())
    index = {}
    for name in ["luke07", "luke06", "autoatt", "timm", "timmtf"]:
        torch.manual_seed(1)
        model, layer = build(name)
        calibrate(model, crops)
        out = os.path.join(OUT, "effnet_" + name)
        os.makedirs(out, exist_ok=True)
        torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()},
                   os.path.join(out, "weights.pth"))
        cls = expected(name, model, layer, x, ACTIVATIONS[name], out)
        arch = "efficientnet-autoatt" if name == "autoatt" else "efficientnet"
        manifest = {"schema": 1, "name": f"reduced EfficientNet ({name})", "architecture": arch,
                    "variant": VARIANT, "padding": PADDING[name], "weights": "weights.pth", "keyPrefix": "",
                    "input": {"size": INPUT},
                    "explain": {"gradcamLayer": layer}}
        if name == "autoatt":
            manifest["explain"]["attention"] = "efficientnet.attconv"
        with open(os.path.join(out, "detector.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        index[name] = {"classes": cls, "activations": ACTIVATIONS[name],
                       "parameters": sum(p.numel() for p in model.state_dict().values())}
    with open(os.path.join(OUT, "effnet_index.json"), "w") as f:
        json.dump(index, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
