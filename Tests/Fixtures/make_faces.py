"""Golden MTCNN detections from facenet-pytorch 2.6.0 for FacesTests.

Frames come from the ffmpeg CLI as rgb24 (what Media's FFmpegVideo decodes, bit for bit); derived frames
(2x pixel repetition, horizontal flip, background crop, black, nearest-neighbour 1920x1080) are built with
integer index rules that the Swift test repeats exactly, so both sides see identical pixels.

Run: /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_faces.py
Writes Tests/Fixtures/faces/mtcnn_golden.json.
"""
import json
import os
import subprocess

import numpy as np
import torch
from facenet_pytorch import MTCNN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIDEO = os.path.join(ROOT, "assets", "carphone_pristine.mp4")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "faces", "mtcnn_golden.json")


def decode(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", path], capture_output=True, text=True, check=True)
    w, h = map(int, probe.stdout.strip().split(","))
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-fps_mode", "passthrough", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def nearest(img, out_h, out_w):
    h, w = img.shape[:2]
    rows = (np.arange(out_h) * h) // out_h
    cols = (np.arange(out_w) * w) // out_w
    return np.ascontiguousarray(img[rows][:, cols])


def detect(mtcnn, img):
    boxes, probs, points = mtcnn.detect(img, landmarks=True)
    if boxes is None:
        return []
    return [{"box": [float(v) for v in b], "prob": float(p), "landmarks": [[float(x), float(y)] for x, y in pts]}
            for b, p, pts in zip(boxes, probs, points)]


def main():
    torch.set_num_threads(1)
    mtcnn = MTCNN(keep_all=True)
    frames = decode(VIDEO)
    cases = [{"name": f"frame{k}", "source": "frame", "frame": k, "faces": detect(mtcnn, f)}
             for k, f in enumerate(frames)]
    extra = [
        ("up2", {"frame": 0, "transform": "repeat2"}, np.ascontiguousarray(frames[0].repeat(2, 0).repeat(2, 1))),
        ("flip", {"frame": 60, "transform": "flip"}, np.ascontiguousarray(frames[60][:, ::-1])),
        ("hd", {"frame": 30, "transform": "nearest1920x1080"}, nearest(frames[30], 1080, 1920)),
        ("background", {"frame": 0, "transform": "crop0,0,64,64"}, np.ascontiguousarray(frames[0][0:64, 0:64])),
        ("black", {"frame": 0, "transform": "black"}, np.zeros_like(frames[0])),
    ]
    for name, spec, img in extra:
        cases.append({"name": name, "source": "derived", **spec, "faces": detect(mtcnn, img)})
    with open(OUT, "w") as f:
        json.dump({"facenet_pytorch": "2.6.0", "torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
    print(OUT, os.path.getsize(OUT), "bytes;", sum(len(c["faces"]) for c in cases), "faces in", len(cases), "cases")


if __name__ == "__main__":
    main()
