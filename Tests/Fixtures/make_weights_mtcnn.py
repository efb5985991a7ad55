"""Extracts a small check of facenet-pytorch's MTCNN weights (legacy torch.save files with transposed strides):
per tensor its shape, stride, a few C-order values and sums. The Swift test loads the real .pt files from the
oracle venv (skipped when absent) and compares. Output: Tests/Fixtures/weights/mtcnn_expected.json.

Run:  /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_weights_mtcnn.py
"""
import json
import os

import facenet_pytorch
import torch

DATA = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "mtcnn_expected.json")

expected = {}
for net in ("pnet", "rnet", "onet"):
    state = torch.load(os.path.join(DATA, net + ".pt"), weights_only=True)
    tensors = []
    for name, t in state.items():
        flat = t.contiguous().reshape(-1).to(torch.float64)
        probes = sorted({0, flat.numel() - 1, (flat.numel() * 7) // 13, (flat.numel() * 5) // 11})
        tensors.append({
            "name": name,
            "shape": list(t.shape),
            "stride": list(t.stride()),
            "probes": {str(i): float(flat[i]) for i in probes},
            "sum": float(flat.sum()),
            "abs_sum": float(flat.abs().sum()),
        })
    expected[net] = tensors

with open(OUT, "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
print("wrote", OUT, os.path.getsize(OUT), "bytes")
