#!/usr/bin/env bash
# 3-D Kernel SHAP on an EfficientNet-B4 at 224: deepscope vs shap.KernelExplainer driving onnxruntime, same clip,
# same supervoxel count, coalitions, batch size and threads; prints both times and their ratio, then how
# deepscope's time grows with M and T.
#
#   scripts/bench_shap.sh                      # the issue's setting: M=50, 2M+2048 coalitions, T=8 (long!)
#   SAMPLES=64 scripts/bench_shap.sh           # fewer coalitions: same per-coalition ratio, minutes not hours
#   SCALING="20x8 50x8 100x8 50x4 50x16" SAMPLES=32 scripts/bench_shap.sh
#
# Environment: SEGMENTS (50), SAMPLES (auto), FRAMES (8), BATCH (32 images), THREADS (2), REPEAT (1: alternating
# runs of each side, fastest kept), SCALING (MxT list; " " for none,
# default "20x8 50x8 100x8 50x4"), CONFIG (debug: Neural/Explain are built with -O even in debug), ORACLE_PY.
# The random EfficientNet-B4 (BN statistics recalibrated on the clip) and its ONNX export live in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${ORACLE_PY:-/root/.cache/deepscope-oracle/venv/bin/python}
SEGMENTS=${SEGMENTS:-50} SAMPLES=${SAMPLES:-auto} FRAMES=${FRAMES:-8} BATCH=${BATCH:-32} THREADS=${THREADS:-2}
SCALING=${SCALING:-"20x8 50x8 100x8 50x4"} CONFIG=${CONFIG:-debug}
WORK=${WORK:-/tmp/deepscope-bench-shap}
mkdir -p "$WORK"
swift build -c "$CONFIG" --product deepscope >&2
DS=".build/$CONFIG/deepscope"

# MARK: - Model, ONNX export and clip (oracle)
if [ ! -f "$WORK/b4.onnx" ] || [ ! -f "$WORK/clip.npy" ]; then
"$PY" - "$WORK" <<'EOF'
import subprocess, sys
import numpy as np, torch
from torch import nn
from efficientnet_pytorch import EfficientNet
from safetensors.torch import save_file
work = sys.argv[1]
raw = subprocess.run(["ffmpeg", "-v", "error", "-i", "assets/carphone_pristine.mp4", "-frames:v", "16", "-f", "rawvideo",
                      "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
frames = np.frombuffer(raw, np.uint8).reshape(16, 144, 176, 3)
# The face of the sample (MTCNN box about x 64-111, y 38-96) with a margin, resized to the detector's 224.
face = torch.from_numpy(frames[:, 27:107, 48:128].copy()).permute(0, 3, 1, 2).float()
clip = nn.functional.interpolate(face, size=(224, 224), mode="bilinear", align_corners=False)
clip = clip.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
np.save(f"{work}/clip.npy", clip)
torch.manual_seed(0)
net = EfficientNet.from_name("efficientnet-b4", num_classes=1)
net.set_swish(memory_efficient=False)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1); std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
x = (torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255 - mean) / std
with torch.no_grad():
    rng = np.random.default_rng(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(torch.tensor(rng.uniform(0.6, 1.4, m.num_features), dtype=torch.float32))
            m.bias.copy_(torch.tensor(rng.normal(0, 0.2, m.num_features), dtype=torch.float32))
            m.reset_running_stats(); m.momentum = None
    net.train(); net(x); net.eval()
save_file({k: v.contiguous() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")},
          f"{work}/b4.safetensors")
torch.onnx.export(net, x[:1], f"{work}/b4.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "n"}}, opset_version=17, dynamo=False)
print("model and clip ready", file=sys.stderr)
EOF
fi

# MARK: - shap.KernelExplainer + onnxruntime
run_shap() {  # M N T
"$PY" - "$WORK" "$1" "$2" "$3" "$BATCH" "$THREADS" <<'EOF'
import json, sys, time, warnings
import numpy as np, onnxruntime as ort, shap
from scipy.ndimage import gaussian_filter
from skimage.segmentation import slic
work, m, n, t, batch, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
clip = np.load(f"{work}/clip.npy")[:t]
so = ort.SessionOptions(); so.intra_op_num_threads = threads; so.inter_op_num_threads = 1
sess = ort.InferenceSession(f"{work}/b4.onnx", so, providers=["CPUExecutionProvider"])
t0 = time.perf_counter()
labels = slic(clip, n_segments=m, compactness=10.0, sigma=1.0, start_label=0, channel_axis=-1)
t_slic = time.perf_counter() - t0
players = int(labels.max()) + 1
# The same background as deepscope's default: each frame blurred in space, sigma = side / 16.
background = np.round(gaussian_filter(clip.astype(np.float64), sigma=(0, 224 / 16, 224 / 16, 0), mode="reflect")).astype(np.uint8)
mean = np.array([0.485, 0.456, 0.406], np.float32); std = np.array([0.229, 0.224, 0.225], np.float32)
def value(z):
    out = np.empty(len(z))
    per = max(1, batch // t)
    for s in range(0, len(z), per):
        rows = z[s:s + per] > 0.5
        keep = rows[:, labels]                      # coalitions x T x H x W
        imgs = np.where(keep[..., None], clip[None], background[None]).reshape(-1, *clip.shape[1:])
        x = ((imgs.astype(np.float32) / 255 - mean) / std).transpose(0, 3, 1, 2)
        y = sess.run(None, {"x": np.ascontiguousarray(x)})[0].reshape(len(rows), t)
        out[s:s + len(rows)] = y.mean(1)
    return out
nsamples = 2 * players + 2048 if n == "auto" else (2 ** players - 2 if n == "all" else int(n))
np.random.seed(0)
t1 = time.perf_counter()
explainer = shap.KernelExplainer(value, np.zeros((1, players)))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    phi = explainer.shap_values(np.ones((1, players)), nsamples=nsamples, l1_reg=False, silent=True)
total = time.perf_counter() - t1 + t_slic
print(json.dumps({"players": players, "samples": nsamples, "frames": t, "slic_s": round(t_slic, 3),
                  "total_s": round(total, 3), "per_coalition_ms": round((total - t_slic) / (nsamples + 2) * 1000, 2),
                  "full_value": round(float(explainer.fx[0]), 5), "empty_value": round(float(explainer.fnull[0]), 5)}))
EOF
}

run_ds() {  # M N T
  "$DS" bench shap --detector efficientnet:b4:lukemelas-0.7 --weights "$WORK/b4.safetensors" --clip "$WORK/clip.npy" \
    --segments "$1" --samples "$2" --frames "$3" --batch "$BATCH" --threads "$THREADS"
}

field() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

echo "Kernel SHAP, EfficientNet-B4 224, M=$SEGMENTS, samples=$SAMPLES, T=$FRAMES, batch $BATCH images, $THREADS threads"
# Alternating runs, fastest of each kept: on a shared machine the load drifts between runs.
ds="" py=""
faster() { if [ -z "$1" ] || "$PY" -c "import json,sys; sys.exit(0 if json.loads(sys.argv[2])['total_s'] < json.loads(sys.argv[1])['total_s'] else 1)" "$1" "$2"; then echo "$2"; else echo "$1"; fi; }
for _ in $(seq "${REPEAT:-1}"); do
  r=$(run_ds "$SEGMENTS" "$SAMPLES" "$FRAMES"); echo "  deepscope run:          $r"; ds=$(faster "$ds" "$r")
  r=$(run_shap "$SEGMENTS" "$SAMPLES" "$FRAMES"); echo "  shap + onnxruntime run: $r"; py=$(faster "$py" "$r")
done
echo "deepscope:           $ds"
echo "shap + onnxruntime:  $py"
"$PY" -c "import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(f'ratio deepscope/shap+ort: total {a[\"total_s\"]/b[\"total_s\"]:.2f}x, per coalition {a[\"per_coalition_ms\"]/b[\"per_coalition_ms\"]:.2f}x')" "$ds" "$py"

echo "deepscope scaling (samples=$SAMPLES):"
echo "    M   T  players  samples  slic_s  total_s  per_coalition_ms"
for mt in $SCALING; do
  m=${mt%x*}; t=${mt#*x}
  r=$(run_ds "$m" "$SAMPLES" "$t")
  printf "%5s %3s %8s %8s %7s %8s %17s\n" "$m" "$t" "$(field "$r" players)" "$(field "$r" samples)" \
    "$(field "$r" slic_s)" "$(field "$r" total_s)" "$(field "$r" per_coalition_ms)"
done
