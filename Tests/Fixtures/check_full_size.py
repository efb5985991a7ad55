"""Full-size parity check (run by hand, not by the test suite): EfficientNetAutoAttB4 as icpr2020dfdc builds it
(efficientnet_pytorch 0.7.1, nominal size 380, fed 224 crops), 19M parameters with BN statistics re-estimated on
real crops, written to /tmp (never committed), run through `deepscope model run`, compared with PyTorch.

    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/check_full_size.py [path/to/deepscope]
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_models_effnet as mk  # noqa: E402

OUT = "/tmp/deepscope-full-b4"


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(mk.ROOT, ".build", "debug", "deepscope")
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    net = mk.AutoAtt.from_name("efficientnet-b4")
    net.init_att(9)
    model = mk.Icpr(net)
    # Crops spread over the whole clip (the first frames are nearly identical).
    crops = mk.frames(224, 120)[::8].contiguous()
    mk.calibrate(model, crops)
    torch.save(model.state_dict(), os.path.join(OUT, "weights.pth"))
    x = crops[[1, 13]].contiguous()
    mk.save_npy(os.path.join(OUT, "input.npy"), x.numpy())
    with open(os.path.join(OUT, "detector.json"), "w") as f:
        json.dump({"schema": 1, "architecture": "efficientnet-autoatt", "variant": "b4", "padding": "lukemelas-0.7",
                   "weights": "weights.pth", "keyPrefix": "", "input": {"size": 224},
                   "explain": {"gradcamLayer": "efficientnet._conv_head", "attention": "efficientnet.attconv"}}, f)
    expected_dir = os.path.join(OUT, "expected")
    os.makedirs(expected_dir, exist_ok=True)
    mk.expected("autoatt", model, "efficientnet._conv_head", x, ["efficientnet._blocks.9"], expected_dir)

    got = os.path.join(OUT, "deepscope")
    t0 = time.time()
    subprocess.run([binary, "model", "run", "--detector", os.path.join(OUT, "detector.json"),
                    "--input", os.path.join(OUT, "input.npy"), "--out", got,
                    "--activations", "efficientnet._blocks.9"], check=True)
    print(f"deepscope model run (load + forward + GradCAM): {time.time() - t0:.2f} s")
    print(f"parameters: {sum(p.numel() for p in model.state_dict().values())}")
    for name in ["logits", "attention", "efficientnet._blocks.9", "gradcam", "gradcam_up"]:
        a = np.load(os.path.join(got, name + ".npy"))
        b = np.load(os.path.join(expected_dir, name + ".npy"))
        scale = np.abs(b).max()
        print(f"{name:24s} shape {a.shape} max|err| {np.abs(a - b).max():.3e}  scale {scale:.3e}  "
              f"rel {np.abs(a - b).max() / scale:.3e}")
    cam = np.load(os.path.join(got, "gradcam.npy"))
    pgc = np.load(os.path.join(expected_dir, "gradcam_pgc.npy"))
    up = np.load(os.path.join(got, "gradcam_up.npy"))
    mine = []
    for c, u in zip(cam, up):
        a = (u - c.min()) / (1e-7 + c.max() - c.min())
        a = a - a.min()
        mine.append(a / (1e-7 + a.max()))
    print(f"{'pytorch-grad-cam [0,1]':24s} max|err| {np.abs(np.stack(mine) - pgc).max():.3e}")


if __name__ == "__main__":
    main()
