#!/usr/bin/env bash
# `deepscope analyze` throughput on the bundled sample with EfficientNet-B4 at 224 (decode + faces + detector),
# the share of time in each stage, and a full-size parity check of the per-face scores against PyTorch.
#
#   scripts/bench_analyze.sh [RUNS]
#
# Weights: icpr2020dfdc's EfficientNetB4 layout (efficientnet_pytorch B4 under `efficientnet.` + a 1-logit
# `classifier`), random with BatchNorm statistics re-estimated on crops of the sample (classifier scaled up so the
# logits spread), generated once with the
# oracle venv in /tmp/deepscope-bench-analyze (never committed) and loaded through the preset
# `icpr2020dfdc:EfficientNetB4`. Each run analyses all 120 frames; the best wall time counts, and the stage shares
# come from that run's summary.json. The parity check feeds the crops deepscope wrote (--crops) to PyTorch with
# icpr2020dfdc's ImageNet normalisation and compares the fake probabilities with frames.jsonl. Set DEEPSCOPE to
# a built binary to skip `swift build` (numeric modules are -O in debug builds too).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
binary=${DEEPSCOPE:-.build/debug/deepscope}
python=${ORACLE_PYTHON:-/root/.cache/deepscope-oracle/venv/bin/python}
work=/tmp/deepscope-bench-analyze
video=assets/carphone_pristine.mp4
mkdir -p "$work"

if [[ ! -f "$work/effb4.pth" ]]; then
    echo "generating $work/effb4.pth" >&2
    "$python" - "$work/effb4.pth" <<'PY'
import sys
sys.path.insert(0, "Tests/Fixtures")
import torch
import make_models_effnet as mk
from efficientnet_pytorch import EfficientNet
torch.manual_seed(0)
model = mk.Icpr(EfficientNet.from_name("efficientnet-b4"))
mk.calibrate(model, mk.frames(224, 120)[::6].contiguous())
# Random features vary little from face to face; a steeper classifier spreads the logits so parity means something.
with torch.no_grad():
    model.classifier.weight.mul_(200)
torch.save(model.state_dict(), sys.argv[1])
PY
fi
if [[ -z "${DEEPSCOPE:-}" ]]; then swift build --product deepscope >&2; fi

# best_run BATCH: analyses RUNS times with --batch BATCH; sets best (seconds) and bestdir.
best_run() {
    best=""
    for i in $(seq "$runs"); do
        out="$work/batch$1-run$i"
        rm -rf "$out"
        start=$(date +%s.%N)
        "$binary" analyze "$video" --detector icpr2020dfdc:EfficientNetB4 --weights "$work/effb4.pth" --crops \
            --batch "$1" --out "$out" 2> /dev/null
        wall=$(echo "$(date +%s.%N) - $start" | bc -l)
        if [[ -z "$best" ]] || (( $(echo "$wall < $best" | bc -l) )); then best=$wall; bestdir=$out; fi
    done
}

# --batch 1 (the default, and what the explorer runs) and --batch 4, side by side on the same machine.
best_run 1; single_dir=$bestdir; single=$best
best_run 4
echo "--batch 1:"
"$python" - "$single_dir" "$single" "$work/effb4.pth" noparity <<'PY'
import glob, json, os, sys
import cv2
import numpy as np
import torch
sys.path.insert(0, "Tests/Fixtures")
import make_models_effnet as mk
from efficientnet_pytorch import EfficientNet

out, wall, weights = sys.argv[1], float(sys.argv[2]), sys.argv[3]
summary = json.load(open(os.path.join(out, "summary.json")))
frames = summary["analysed"]["frames"]
t = summary["timing"]
stages = t["decode"] + t["faces"] + t["detector"]
print(f"analyze {summary['video']['path']}: {frames} frames, {summary['analysed']['faces']} faces, "
      f"EfficientNet-B4 at 224 ({os.cpu_count()} cores)")
print(f"wall {wall:.2f} s (load + analysis) -> {frames / wall:.2f} frames/s; pipeline {stages:.2f} s -> {frames / stages:.2f} frames/s")
for name in ["decode", "faces", "detector"]:
    print(f"  {name:9s} {t[name]:7.3f} s  {100 * t[name] / stages:5.1f} %  ({1000 * t[name] / frames:.1f} ms/frame)")

if len(sys.argv) > 4:
    sys.exit(0)
PY
echo "--batch 4:"
"$python" - "$bestdir" "$best" "$work/effb4.pth" <<'PY'
import glob, json, os, sys
import cv2
import numpy as np
import torch
sys.path.insert(0, "Tests/Fixtures")
import make_models_effnet as mk
from efficientnet_pytorch import EfficientNet

out, wall, weights = sys.argv[1], float(sys.argv[2]), sys.argv[3]
summary = json.load(open(os.path.join(out, "summary.json")))
frames = summary["analysed"]["frames"]
t = summary["timing"]
stages = t["decode"] + t["faces"] + t["detector"]
print(f"analyze {summary['video']['path']}: {frames} frames, {summary['analysed']['faces']} faces, "
      f"EfficientNet-B4 at 224 ({os.cpu_count()} cores)")
print(f"wall {wall:.2f} s (load + analysis) -> {frames / wall:.2f} frames/s; pipeline {stages:.2f} s -> {frames / stages:.2f} frames/s")
for name in ["decode", "faces", "detector"]:
    print(f"  {name:9s} {t[name]:7.3f} s  {100 * t[name] / stages:5.1f} %  ({1000 * t[name] / frames:.1f} ms/frame)")

# Full-size parity: PyTorch on the very crops deepscope scored.
model = mk.Icpr(EfficientNet.from_name("efficientnet-b4"))
model.load_state_dict(torch.load(weights))
model.eval()
ours, crops = [], []
for line in open(os.path.join(out, "frames.jsonl")):
    r = json.loads(line)
    for f in r["faces"]:
        rgb = cv2.cvtColor(cv2.imread(os.path.join(out, "crops", f"{r['frame']}_{f['track']}.png")), cv2.COLOR_BGR2RGB)
        crops.append((rgb.astype(np.float32) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225])
        ours.append((f["score"], f["prob"]))
x = torch.tensor(np.stack(crops).transpose(0, 3, 1, 2), dtype=torch.float32)
with torch.no_grad():
    z = torch.cat([model(b) for b in x.split(16)])[:, 0].numpy()
ours = np.array(ours)
print(f"parity on {len(z)} face crops: max |logit - torch| {np.abs(ours[:, 0] - z).max():.2e}, "
      f"max |p - torch| {np.abs(ours[:, 1] - 1 / (1 + np.exp(-z))).max():.2e}, logit range [{z.min():.3f}, {z.max():.3f}]")
PY
