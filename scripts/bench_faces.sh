#!/usr/bin/env bash
# MTCNN per-frame detection time: deepscope's Faces module vs facenet-pytorch 2.6.0 (oracle venv), on the same
# decoded frames (ffmpeg rgb24 == Media's decoding) and the same thread count. Decoding is not timed on either
# side; each side reports the best of ROUNDS passes over all frames. Prints both times and the ratio.
#
# Usage: scripts/bench_faces.sh [VIDEO] [SCALE]     env: THREADS (2), ROUNDS (3), ORACLE_PY
#   SCALE > 1 upscales the frames (ffmpeg -vf scale, nearest) to time bigger inputs, e.g. 6 for ~1056×864.
set -euo pipefail
cd "$(dirname "$0")/.."
VIDEO=${1:-assets/carphone_pristine.mp4}
SCALE=${2:-1}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PY=${ORACLE_PY:-/root/.cache/deepscope-oracle/venv/bin/python}

if [ "$SCALE" != 1 ]; then
    scaled=$(mktemp --suffix=.mkv)
    trap 'rm -f "$scaled"' EXIT
    ffmpeg -v error -y -i "$VIDEO" -vf "scale=iw*$SCALE:ih*$SCALE:flags=neighbor" -c:v ffv1 "$scaled"
    VIDEO=$scaled
fi

# Numeric modules are built with -O even in debug (Package.swift), so the debug binary times the real kernels.
swift build --product deepscope >/dev/null
swift_json=$(.build/debug/deepscope faces "$VIDEO" --bench --threads "$THREADS" --rounds "$ROUNDS")

py_json=$("$PY" - "$VIDEO" "$THREADS" "$ROUNDS" <<'PYEOF'
import json, subprocess, sys, time
import numpy as np, torch
from facenet_pytorch import MTCNN
video, threads, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
w, h = map(int, subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
    "stream=width,height", "-of", "csv=p=0", video], capture_output=True, text=True, check=True).stdout.strip().split(","))
raw = subprocess.run(["ffmpeg", "-v", "error", "-i", video, "-fps_mode", "passthrough", "-f", "rawvideo",
    "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
mtcnn = MTCNN(keep_all=True)
mtcnn.detect(frames[0])
best, faces = float("inf"), 0
for _ in range(rounds):
    start = time.perf_counter()
    faces = 0
    for f in frames:
        boxes, _ = mtcnn.detect(f)
        faces += 0 if boxes is None else len(boxes)
    best = min(best, (time.perf_counter() - start) * 1000 / len(frames))
print(json.dumps({"frames": len(frames), "threads": threads, "faces": faces, "ms_per_frame": round(best, 3)}))
PYEOF
)

echo "deepscope       $swift_json"
echo "facenet-pytorch $py_json"
python3 - "$swift_json" "$py_json" <<'PYEOF'
import json, sys
s, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"MTCNN {s['frames']} frames, {s['threads']} threads: deepscope {s['ms_per_frame']:.2f} ms/frame, "
      f"facenet-pytorch {p['ms_per_frame']:.2f} ms/frame, ratio {s['ms_per_frame'] / p['ms_per_frame']:.2f}x (target <= 0.5x)")
PYEOF
