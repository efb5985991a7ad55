"""Converts facenet-pytorch's MTCNN weights (legacy torch.save state dicts) to assets/mtcnn/*.safetensors.

Usage, from the repository root, with any Python that has torch, safetensors and facenet-pytorch 2.6.0
(`pip install facenet-pytorch==2.6.0`, or the oracle venv):
    python scripts/convert_mtcnn_weights.py [SITE_PACKAGES/facenet_pytorch/data]

The tensors keep facenet-pytorch's key names and are stored as contiguous float32; the source file's sha256 is
recorded in each file's metadata so the origin can be checked.
"""
import hashlib
import os
import sys

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) > 1:
        source = sys.argv[1]
    else:
        import facenet_pytorch
        source = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
    out_dir = os.path.join(ROOT, "assets", "mtcnn")
    os.makedirs(out_dir, exist_ok=True)
    for stage in ("pnet", "rnet", "onet"):
        path = os.path.join(source, stage + ".pt")
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        state = torch.load(path, map_location="cpu", weights_only=True)
        # The legacy files hold transposed-stride views; safetensors needs contiguous storage.
        tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state.items()}
        meta = {"source": f"facenet-pytorch 2.6.0 facenet_pytorch/data/{stage}.pt", "source_sha256": digest}
        save_file(tensors, os.path.join(out_dir, stage + ".safetensors"), metadata=meta)
        print(stage, len(tensors), "tensors", sum(v.numel() for v in tensors.values()), "values", digest)


if __name__ == "__main__":
    main()
