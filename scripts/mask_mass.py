"""Share of explainer map mass inside the ground-truth blend mask of the manipulated sample.

Reads `deepscope analyze --save-maps` output (maps/<explainer>/<frame>_<track>.npy, frames.jsonl), the masks
written by `deepscope forge --masks-out` (<frame>.png, frame coordinates) and the truth file; prints a Markdown table.
Each mask is carried into the detector's crop (the `scale` policy rectangle, resized bilinearly as the crop was),
because the maps live there. Only the positive part of a map counts as evidence.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
from PIL import Image


# MARK: - Crop geometry (mirrors CropPolicy.rectangle, policy "scale")

def scale_rect(box, fw, fh, size, margin):
    """The frame rectangle (x, y, w, h) the `scale` policy cuts for box = [x1, y1, x2, y2]."""
    x1, y1, x2, y2 = box
    # Python's round is half-to-even, as torch.round is in the reference code.
    offset = float(round(margin * (y2 - y1)))
    top, left = max(y1 - 2 * offset, 0.0), max(x1 - offset, 0.0)
    bottom, right = min(y2 + offset, float(fh)), min(x2 + offset, float(fw))
    bw, bh = int(right) - int(left), int(bottom) - int(top)
    ratio = min(size / bh, size / bw) if bw > 0 and bh > 0 else 1.0
    side = int(size / ratio)
    cx, cy = math.floor((left + right) / 2), math.floor((bottom + top) / 2)
    new_top, new_left = max(cy - side // 2, 0), max(cx - side // 2, 0)
    new_bottom, new_right = min(new_top + side, fh), min(new_left + side, fw)
    return int(new_left), int(new_top), max(0, int(new_right) - int(new_left)), max(0, int(new_bottom) - int(new_top))


def mask_in_crop(mask, rect, size):
    """The frame mask sampled at the crop's pixel centres (bilinear, edges clamped), size x size."""
    x, y, w, h = rect
    fh, fw = mask.shape
    u = x + (np.arange(size) + 0.5) * w / size - 0.5
    v = y + (np.arange(size) + 0.5) * h / size - 0.5
    u, v = np.clip(u, 0, fw - 1), np.clip(v, 0, fh - 1)
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    u1, v1 = np.minimum(u0 + 1, fw - 1), np.minimum(v0 + 1, fh - 1)
    fu, fv = (u - u0)[None, :], (v - v0)[:, None]
    top = mask[v0][:, u0] * (1 - fu) + mask[v0][:, u1] * fu
    bottom = mask[v1][:, u0] * (1 - fu) + mask[v1][:, u1] * fu
    return top * (1 - fv) + bottom * fv


def resize_map(m, size):
    """Explainer maps may be coarser than the crop; bilinear upsampling puts them on the crop grid."""
    if m.shape == (size, size):
        return m
    return np.asarray(Image.fromarray(m.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR))


# MARK: - Report

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--masks", required=True, help="folder of <frame>.png masks from deepscope forge --masks-out")
    ap.add_argument("--truth", required=True, help="the sample's truth JSON")
    ap.add_argument("--run", action="append", required=True, help="DETECTOR=ANALYZE_DIR (repeatable)")
    ap.add_argument("--margin", type=float, default=0.1)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--held-out", default="72:120", help="frames A:B (B excluded) of the held-out part")
    ap.add_argument("--threshold", type=float, default=0.5, help="mask value at and above which a pixel is forged")
    a = ap.parse_args()
    lo, hi = (int(t) for t in a.held_out.split(":"))
    segments = json.load(open(a.truth))["segments"]
    method_of = {f: s["method"] for s in segments for f in range(s["start"], s["end"] + 1)}
    methods = sorted(set(method_of.values()), key=lambda m: min(f for f, mm in method_of.items() if mm == m))

    rows = []  # (detector, explainer, frame, method, share, chance)
    for spec in a.run:
        name, folder = spec.split("=", 1)
        faces = {}
        for line in open(os.path.join(folder, "frames.jsonl")):
            r = json.loads(line)
            faces[r["frame"]] = r["faces"]
        summary = json.load(open(os.path.join(folder, "summary.json")))
        fw, fh = summary["video"]["width"], summary["video"]["height"]
        for explainer in sorted(os.listdir(os.path.join(folder, "maps"))):
            for frame, method in sorted(method_of.items()):
                png = os.path.join(a.masks, f"{frame}.png")
                if not os.path.exists(png) or not faces.get(frame):
                    continue
                mask = np.asarray(Image.open(png).convert("L"), dtype=np.float64) / 255
                if mask.shape != (fh, fw):
                    sys.exit(f"{png}: mask is {mask.shape[1]}x{mask.shape[0]}, the video {fw}x{fh}")
                # The sample holds one face; take the largest if the tracker found more.
                face = max(faces[frame], key=lambda f: (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]))
                path = os.path.join(folder, "maps", explainer, f"{frame}_{face['track']}.npy")
                if not os.path.exists(path):
                    continue
                m = resize_map(np.load(path).astype(np.float64).squeeze(), a.size)
                inside = mask_in_crop(mask, scale_rect(face["box"], fw, fh, a.size, a.margin), a.size) >= a.threshold
                pos = np.maximum(m, 0)
                total = pos.sum()
                share = float((pos * inside).sum() / total) if total > 0 else float("nan")
                rows.append((name, explainer, frame, method, share, float(inside.mean())))

    def mean(xs):
        xs = [x for x in xs if not math.isnan(x)]
        return sum(xs) / len(xs) if xs else float("nan")

    def cell(sel):
        held = [r for r in sel if lo <= r[2] < hi]
        return f"{mean([r[4] for r in held]):.2f} / {mean([r[4] for r in sel]):.2f}"

    print("Share of positive map mass inside the mask (held-out frames %d–%d / all forged frames); " % (lo, hi - 1)
          + "chance = the mask's share of the crop.\n")
    print("| detector | explainer | " + " | ".join(methods) + " | all methods |")
    print("|---|---|" + "---|" * (len(methods) + 1))
    keys = sorted({(r[0], r[1]) for r in rows}, key=lambda k: ([s.split("=")[0] for s in a.run].index(k[0]), k[1]))
    for d, e in keys:
        sel = [r for r in rows if r[0] == d and r[1] == e]
        print(f"| {d} | {e} | " + " | ".join(cell([r for r in sel if r[3] == m]) for m in methods) + f" | {cell(sel)} |")
    # Chance level: the mask's own area share, from the first detector's crops (its face boxes).
    first = [s.split("=")[0] for s in a.run][0]
    base = [r for r in rows if r[0] == first and r[1] == sorted({r[1] for r in rows if r[0] == first})[0]]
    chance = [(r[0], r[1], r[2], r[3], r[5], r[5]) for r in base]
    print("| *chance* | *mask area* | " + " | ".join(cell([r for r in chance if r[3] == m]) for m in methods)
          + f" | {cell(chance)} |")
    counts = {m: (sum(1 for r in base if r[3] == m and lo <= r[2] < hi), sum(1 for r in base if r[3] == m)) for m in methods}
    print("\nFrames per method (held-out / all): " + ", ".join(f"{m} {c[0]}/{c[1]}" for m, c in counts.items()))


if __name__ == "__main__":
    main()
