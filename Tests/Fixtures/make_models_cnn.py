"""Golden fixtures for the Xception, ResNet, Meso and MTCNN networks in deepscope's Models module.

Run with the oracle venv from the repository root:
    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_models_cnn.py

The references are the real library forward passes where one exists (timm `legacy_xception`, torchvision
ResNet, facenet-pytorch MTCNN); the Meso networks are written out below from DeepfakeBench's
`training/networks/mesonet.py` because DeepfakeBench is not a package. Full-width Xception and ResNet do not
fit the fixture budget, so their real module trees are narrowed (every conv/BN/linear replaced by a narrower
one with the same kernel, stride, padding and grouping) and keep the real forward code. BatchNorm statistics
are re-estimated on frames of the sample video and the affine parameters drawn around 1/0, so activations
stay in a realistic range. Checkpoint tensors are rounded to float16 before the reference runs, so the f16
files are the exact weights the expected outputs came from.

Outputs in Tests/Fixtures/models_cnn/: checkpoints in each release's key layout and one `<name>_io.safetensors`
per network with inputs (uint8 images or float16 tensors), expected outputs, activations and gradients.
"""
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn as nn
import torchvision
import timm
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models_cnn")
VIDEO = os.path.join(ROOT, "assets", "carphone_pristine.mp4")
torch.manual_seed(0)
np.random.seed(0)


# MARK: - Frames

def video_frames():
    cap = cv2.VideoCapture(VIDEO)
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert frames, "no frames read from " + VIDEO
    return frames


FRAMES = video_frames()


def frame_batch(indices, size):
    """uint8 N×3×S×S crops of frames resized to S (the whole frame, squashed)."""
    out = [cv2.resize(FRAMES[i], (size, size), interpolation=cv2.INTER_AREA) for i in indices]
    return np.stack(out).transpose(0, 3, 1, 2).copy()


def normalise(u8):
    """mean = std = 0.5 preprocessing (FF++ and DeepfakeBench); the tests repeat it on the stored uint8 input."""
    x = torch.from_numpy(u8).float() / 255.0
    return (x - 0.5) / 0.5


# MARK: - Narrowing real module trees

def narrow(module, widths):
    """Replaces every Conv2d/BatchNorm2d/Linear by a narrower one; `widths` maps old channel counts to new."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Conv2d):
            cin = 3 if child.in_channels == 3 else widths[child.in_channels]
            cout = widths[child.out_channels]
            if child.groups == 1:
                groups = 1
            else:
                assert child.groups == child.in_channels == child.out_channels, name
                groups = cin
                cout = cin
            new = nn.Conv2d(cin, cout, child.kernel_size, child.stride, child.padding, child.dilation, groups,
                            bias=child.bias is not None)
            setattr(module, name, new)
        elif isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.BatchNorm2d(widths[child.num_features]))
        elif isinstance(child, nn.Linear):
            setattr(module, name, nn.Linear(widths.get(child.in_features, child.in_features), child.out_features))
        else:
            narrow(child, widths)
    return module


def estimate_bn(model, batches):
    """Cumulative BN statistics over real frames, then affine parameters around 1/0 and f16-rounded weights."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for b in batches:
            model(b)
    model.eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        for t in list(model.parameters()) + [b for b in model.buffers() if b.dtype == torch.float32]:
            t.copy_(t.half().float())
    return model


def halved(state):
    return {k: (v.half() if v.dtype == torch.float32 else v) for k, v in state.items()}


def capture(model, names, x, target):
    """Logits, named activations and d(Σ_n logits[n, target]) / d(activation) for each name."""
    acts = {}
    hooks = []
    modules = dict(model.named_modules())
    for n in names:
        def hook(_m, _i, out, n=n):
            # Hand a clone downstream so a following in-place ReLU cannot change the activation we keep.
            out.retain_grad()
            acts[n] = out
            return out.clone()
        hooks.append(modules[n].register_forward_hook(hook))
    x = x.clone().requires_grad_(False)
    logits = model(x)
    logits[:, target].sum().backward()
    for h in hooks:
        h.remove()
    return logits.detach(), {n: (a.detach(), a.grad.detach()) for n, a in acts.items()}


def save_io(name, tensors):
    path = os.path.join(OUT, name + "_io.safetensors")
    save_file({k: v.contiguous() for k, v in tensors.items()}, path)


# MARK: - Xception (timm legacy_xception; also saved in Cadene and FF++ layouts)

class TransferModel(nn.Module):
    """FF++ `models.py` holds the backbone as `model` and replaces `last_linear` by Dropout + Linear."""

    def __init__(self, backbone):
        super().__init__()
        self.model = backbone


def make_xception():
    widths = {32: 8, 64: 8, 128: 16, 256: 16, 728: 24, 1024: 32, 1536: 48, 2048: 64}
    model = narrow(timm.create_model("legacy_xception", pretrained=False, num_classes=2), widths)
    batches = [normalise(frame_batch(range(i, i + 8), 71)) for i in range(0, 96, 8)]
    estimate_bn(model, batches)
    u8 = frame_batch([17, 90], 71)
    x = normalise(u8)
    names = ["block3", "block12", "conv4"]
    logits, acts = capture(model, names, x, target=1)
    state = model.state_dict()
    # timm publishes its weights as safetensors.
    save_file(halved(state), os.path.join(OUT, "xception_timm.safetensors"))
    cadene = {("last_linear" + k[2:] if k.startswith("fc.") else k): v for k, v in halved(state).items()}
    torch.save(cadene, os.path.join(OUT, "xception_cadene.pth"), _use_new_zipfile_serialization=False)
    # FF++ releases are whole pickled TransferModel modules with 2-D pointwise weights.
    ff = model
    with torch.no_grad():
        for m in ff.modules():
            if hasattr(m, "pointwise"):
                m.pointwise.weight = nn.Parameter(m.pointwise.weight.detach()[:, :, 0, 0].clone())
    fc = ff.fc
    del ff.fc
    ff.last_linear = nn.Sequential(nn.Dropout(0.5), fc)
    ff = TransferModel(ff).half()
    torch.save(ff, os.path.join(OUT, "xception_ffpp.pth"))
    io = {"input": torch.from_numpy(u8), "logits": logits}
    for n, (a, g) in acts.items():
        io["act." + n] = a
        io["grad." + n] = g
    save_io("xception", io)
    print("xception logits", logits.tolist())


# MARK: - ResNet (torchvision)

def make_resnet(depth, divisor, classes, target):
    base = {18: torchvision.models.resnet18, 50: torchvision.models.resnet50}[depth](num_classes=classes)
    widths = {c: c // divisor for c in (64, 128, 256, 512, 1024, 2048)}
    model = narrow(base, widths)
    batches = [normalise(frame_batch(range(i, i + 8), 64)) for i in range(0, 96, 8)]
    estimate_bn(model, batches)
    u8 = frame_batch([5, 60], 64)
    x = normalise(u8)
    names = ["layer3", "layer4"]
    logits, acts = capture(model, names, x, target=target)
    # ResNet-50 in the legacy (pre-1.6) format, ResNet-18 in the zip format: both readers are exercised.
    torch.save(halved(model.state_dict()), os.path.join(OUT, f"resnet{depth}.pth"),
               _use_new_zipfile_serialization=depth != 50)
    io = {"input": torch.from_numpy(u8), "logits": logits}
    for n, (a, g) in acts.items():
        io["act." + n] = a
        io["grad." + n] = g
    save_io(f"resnet{depth}", io)
    print(f"resnet{depth} logits", logits.tolist())


# MARK: - Meso4 / MesoInception4 (DeepfakeBench training/networks/mesonet.py)

class Meso4(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.leakyrelu = nn.LeakyReLU(0.1)
        self.conv2 = nn.Conv2d(8, 8, 5, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(8, 16, 5, padding=2, bias=False)
        self.conv4 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.maxpooling1 = nn.MaxPool2d(kernel_size=(2, 2))
        self.maxpooling2 = nn.MaxPool2d(kernel_size=(4, 4))
        self.dropout = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, classes)

    def forward(self, x):
        # BN after ReLU, and bn1/bn2 each shared by two convs, as in DeepfakeBench.
        x = self.maxpooling1(self.bn1(self.relu(self.conv1(x))))
        x = self.maxpooling1(self.bn1(self.relu(self.conv2(x))))
        x = self.maxpooling1(self.bn2(self.relu(self.conv3(x))))
        x = self.maxpooling2(self.bn2(self.relu(self.conv4(x))))
        x = x.view(x.size(0), -1)
        x = self.leakyrelu(self.fc1(self.dropout(x)))
        return self.fc2(self.dropout(x))


class MesoInception4(nn.Module):
    def __init__(self, classes):
        super().__init__()
        for layer, cin, outs in ((1, 3, (1, 4, 4, 2)), (2, 11, (2, 4, 4, 2))):
            p = f"Incption{layer}_"
            setattr(self, p + "conv1", nn.Conv2d(cin, outs[0], 1, bias=False))
            setattr(self, p + "conv2_1", nn.Conv2d(cin, outs[1], 1, bias=False))
            setattr(self, p + "conv2_2", nn.Conv2d(outs[1], outs[1], 3, padding=1, bias=False))
            setattr(self, p + "conv3_1", nn.Conv2d(cin, outs[2], 1, bias=False))
            setattr(self, p + "conv3_2", nn.Conv2d(outs[2], outs[2], 3, padding=2, dilation=2, bias=False))
            setattr(self, p + "conv4_1", nn.Conv2d(cin, outs[3], 1, bias=False))
            setattr(self, p + "conv4_2", nn.Conv2d(outs[3], outs[3], 3, padding=3, dilation=3, bias=False))
            setattr(self, p + "bn", nn.BatchNorm2d(sum(outs)))
        self.conv1 = nn.Conv2d(12, 16, 5, padding=2, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.leakyrelu = nn.LeakyReLU(0.1)
        self.bn1 = nn.BatchNorm2d(16)
        self.maxpooling1 = nn.MaxPool2d(kernel_size=(2, 2))
        self.conv2 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.maxpooling2 = nn.MaxPool2d(kernel_size=(4, 4))
        self.dropout = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, classes)

    def inception(self, layer, x):
        p = f"Incption{layer}_"
        c = lambda n: getattr(self, p + n)
        y = torch.cat((c("conv1")(x), c("conv2_2")(c("conv2_1")(x)), c("conv3_2")(c("conv3_1")(x)),
                       c("conv4_2")(c("conv4_1")(x))), 1)
        return self.maxpooling1(c("bn")(y))

    def forward(self, x):
        x = self.inception(2, self.inception(1, x))
        x = self.maxpooling1(self.bn1(self.relu(self.conv1(x))))
        x = self.maxpooling2(self.bn1(self.relu(self.conv2(x))))
        x = x.view(x.size(0), -1)
        x = self.leakyrelu(self.fc1(self.dropout(x)))
        return self.fc2(self.dropout(x))


class Wrapped(nn.Module):
    """DeepfakeBench detectors hold the network as `backbone`, so released keys start with `backbone.`."""

    def __init__(self, net):
        super().__init__()
        self.backbone = net


def make_meso(name, net, u8):
    batches = [normalise(frame_batch(range(i, i + 4), 256)) for i in range(0, 64, 4)]
    estimate_bn(net, batches)
    x = (torch.from_numpy(u8).float() / 255.0 - 0.5) / 0.5
    logits, acts = capture(net, ["conv4" if name == "meso4" else "conv2"], x, target=1)
    torch.save({"state_dict": halved(Wrapped(net).state_dict())}, os.path.join(OUT, f"{name}.pth"))
    io = {"logits": logits}
    for n, (a, g) in acts.items():
        # The first four channels only: the full 16×32×32 maps would triple the fixture.
        io["act." + n] = a[:, :4]
        io["grad." + n] = g[:, :4]
    save_io(name, io)
    print(name, "logits", logits.tolist())


# MARK: - MTCNN (facenet-pytorch, real weights)

def make_mtcnn():
    from facenet_pytorch.models.mtcnn import PNet, RNet, ONet
    frame = FRAMES[30]
    # 60×80 (H×W) region around the face, a 24×24 and a 48×48 face crop, as uint8 CHW.
    region = frame[30:90, 50:130]
    crop24 = cv2.resize(frame[20:110, 40:130], (24, 24), interpolation=cv2.INTER_AREA)
    crop48 = cv2.resize(frame[20:110, 40:130], (48, 48), interpolation=cv2.INTER_AREA)
    chw = lambda a: np.ascontiguousarray(a.transpose(2, 0, 1)[None])
    prep = lambda a: (torch.from_numpy(a).float() - 127.5) * 0.0078125
    io = {"pnet.input": torch.from_numpy(chw(region)), "rnet.input": torch.from_numpy(chw(crop24)),
          "onet.input": torch.from_numpy(chw(crop48))}
    with torch.no_grad():
        b, a = PNet().eval()(prep(chw(region)))
        io["pnet.regression"], io["pnet.probability"] = b, a
        b, a = RNet().eval()(prep(chw(crop24)))
        io["rnet.regression"], io["rnet.probability"] = b, a
        b, c, a = ONet().eval()(prep(chw(crop48)))
        io["onet.regression"], io["onet.landmarks"], io["onet.probability"] = b, c, a
    save_io("mtcnn", io)
    print("mtcnn onet probability", io["onet.probability"].tolist())


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    which = sys.argv[1:] or ["xception", "resnet", "meso", "mtcnn"]
    if "xception" in which:
        make_xception()
    if "resnet" in which:
        make_resnet(18, 32, 3, target=2)
        make_resnet(50, 32, 1, target=0)
    if "meso" in which:
        # A 128×128 frame stored once; the 256×256 input repeats each pixel 2×2 (the test does the same).
        small = frame_batch([42], 128)
        save_file({"input": torch.from_numpy(small)}, os.path.join(OUT, "meso_input.safetensors"))
        u8 = small.repeat(2, axis=2).repeat(2, axis=3)
        make_meso("meso4", Meso4(2), u8)
        make_meso("mesoinception4", MesoInception4(2), u8)
    if "mtcnn" in which:
        make_mtcnn()
