#!/usr/bin/env bash
# GradCAM latency, EfficientNetAutoAtt-B4 at 224, batch 1: deepscope (release) vs pytorch-grad-cam on PyTorch CPU,
# same threads, same run; prints the deepscope/PyTorch ratio per thread count (target ≤ 0.5).
#   scripts/bench_gradcam.sh [RUNS] [THREADS...]      e.g. scripts/bench_gradcam.sh 10 1 2
# Both sides time forward + backward to efficientnet._conv_head + the map (pytorch-grad-cam's call also scales
# and resizes it; deepscope's `bench model` stops at the layer-resolution map, a 7×7 step of well under 1 ms).
# Weights are random (seeded) on both sides: latency does not depend on their values.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${ORACLE_PY:-/root/.cache/deepscope-oracle/venv/bin/python}
RUNS=${1:-10}
shift || true
THREADS=("${@:-1 2}")
swift build -c release --product deepscope >&2
for t in ${THREADS[@]}; do
  ours=$(.build/release/deepscope bench model --detector efficientnet-autoatt:b4 --size 224 --batch 1 \
         --runs "$RUNS" --threads "$t" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["forward_gradcam_ms"])')
  theirs=$(OMP_NUM_THREADS=$t MKL_NUM_THREADS=$t "$PY" - "$RUNS" "$t" <<'PYEOF'
import os, statistics, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "scripts"))
import torch
from bench_models import build_b4 as build_model
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import BinaryClassifierOutputTarget
runs, threads = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
model = build_model()
x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
cam = GradCAM(model=model, target_layers=[model.efficientnet._conv_head])
targets = [BinaryClassifierOutputTarget(1)]
cam(input_tensor=x, targets=targets)  # warm-up
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    cam(input_tensor=x, targets=targets)
    times.append((time.perf_counter() - t0) * 1000)
print(f"{statistics.median(times):.2f}")
PYEOF
)
  "$PY" -c "print(f'threads $t: deepscope GradCAM {float(\"$ours\"):.1f} ms, pytorch-grad-cam {float(\"$theirs\"):.1f} ms, ratio {float(\"$ours\") / float(\"$theirs\"):.2f}x (target <= 0.5x)')"
done
