"""Golden fixtures for supervoxels and Kernel SHAP (Tests/ExplainSHAPTests).

Run with the oracle venv from the repository root:
    /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_shap.py

Writes Tests/Fixtures/shap/:
  clip.npy            4x48x48x3 uint8: frames 0-3 of assets/carphone_pristine.mp4, the face region
  slic.json           skimage.segmentation.slic labels of that clip for a few parameter sets
  kernel.json         a fixed nonlinear value function of a coalition mask, and shap.KernelExplainer's
                      values for it: exact (full enumeration) and sampled (mean and std over seeds)
"""
import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import shap
import skimage
from skimage.segmentation import slic

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "shap"
OUT.mkdir(parents=True, exist_ok=True)


def read_frames(path, count):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "csv=p=0", str(path)],
                           check=True, capture_output=True, text=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", str(count), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(count, h, w, 3)


def slic_cases():
    frames = read_frames(ROOT / "assets" / "carphone_pristine.mp4", 4)
    # The MTCNN box of frame 0 is about x 64-111, y 38-96 (Tests/Fixtures/faces).
    clip = np.ascontiguousarray(frames[:, 44:92, 64:112, :])
    np.save(OUT / "clip.npy", clip)
    cases = []
    for name, kw in [
        ("default", dict(n_segments=50, compactness=10.0, sigma=1.0)),
        ("sharp", dict(n_segments=30, compactness=20.0, sigma=0.0)),
        ("soft-spaced", dict(n_segments=60, compactness=5.0, sigma=0.8, spacing=(2.0, 1.0, 1.0))),
    ]:
        labels = slic(clip, channel_axis=-1, start_label=0, max_num_iter=10, **kw)
        spacing = list(kw.get("spacing", (1.0, 1.0, 1.0)))
        cases.append({"name": name, "segments": kw["n_segments"], "compactness": kw["compactness"],
                      "sigma": kw["sigma"], "spacing": spacing,
                      "count": int(labels.max()) + 1, "labels": labels.astype(int).ravel().tolist()})
    return cases


# MARK: - Kernel SHAP

def value_function(rng, m):
    """f(z) = a.z + sum_p b_p z_i z_j + tanh(c.z): additive, pairwise and saturating parts."""
    a = rng.normal(size=m)
    pairs = [(int(i), int(j)) for i, j in rng.choice(m, size=(m, 2)) if i != j]
    b = rng.normal(size=len(pairs))
    c = rng.normal(size=m) * 0.7
    return {"a": a.tolist(), "pairs": [list(p) for p in pairs], "b": b.tolist(), "c": c.tolist()}


def evaluate(fn, z):
    z = np.asarray(z, float)
    out = z @ np.array(fn["a"]) + np.tanh(z @ np.array(fn["c"]))
    for (i, j), bij in zip(fn["pairs"], fn["b"]):
        out = out + bij * z[:, i] * z[:, j]
    return out


def kernel_case(fn, m, nsamples, seeds, l1=()):
    background = np.zeros((1, m))
    x = np.ones((1, m))
    explainer = shap.KernelExplainer(lambda z: evaluate(fn, z), background)
    runs = []
    for seed in seeds:
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(explainer.shap_values(x, nsamples=nsamples, l1_reg=False, silent=True)[0])
    runs = np.array(runs)
    # L1 selection (shap's num_features(r), LARS): deterministic only when every coalition is enumerated.
    selected = {}
    for r in l1:
        np.random.seed(seeds[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            selected[str(r)] = explainer.shap_values(x, nsamples=nsamples, l1_reg=f"num_features({r})",
                                                     silent=True)[0].tolist()
    return {"l1": selected, "m": m, "nsamples": nsamples, "runs": len(seeds), "function": fn,
            "mean": runs.mean(0).tolist(), "std": runs.std(0, ddof=1).tolist() if len(seeds) > 1 else None,
            "fx": float(evaluate(fn, x)[0]), "fnull": float(evaluate(fn, background)[0])}


def kernel_cases():
    rng = np.random.default_rng(7)
    cases = []
    # Full enumeration: 2^M - 2 coalitions, deterministic.
    cases.append(kernel_case(value_function(rng, 10), 10, 2**10 - 2, [0], l1=(3, 5, 8)))
    # Sampling with shap's default budget 2M + 2048; the spread over seeds is the sampling error.
    for m in (16, 50):
        cases.append(kernel_case(value_function(rng, m), m, 2 * m + 2048, list(range(64))))
    return cases


if __name__ == "__main__":
    doc = {"skimage": skimage.__version__, "cases": slic_cases()}
    (OUT / "slic.json").write_text(json.dumps(doc, separators=(",", ":")))
    doc = {"shap": shap.__version__, "cases": kernel_cases()}
    (OUT / "kernel.json").write_text(json.dumps(doc, separators=(",", ":")))
    for p in sorted(OUT.iterdir()):
        print(p.relative_to(ROOT), p.stat().st_size)
