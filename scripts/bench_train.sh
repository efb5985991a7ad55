#!/usr/bin/env bash
# Training throughput (images/s, forward + backward + SGD step) of deepscope vs PyTorch CPU on the same reduced
# EfficientNet (efficientnet_pytorch layout), batch and input size; prints the ratio deepscope / PyTorch.
# Usage: scripts/bench_train.sh [VARIANT_WIDTH VARIANT_DEPTH SIZE BATCH STEPS THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-0.35}; D=${2:-0.3}; R=${3:-64}; B=${4:-16}; S=${5:-10}; T=${6:-2}
PY=${PYTHON:-/root/.cache/deepscope-oracle/venv/bin/python}
# CONFIG=debug reuses a debug build: Neural and Training are compiled with -O in debug too (Package.swift).
CONFIG=${CONFIG:-release}
swift build -c "$CONFIG" --product deepscope >/dev/null
ours=$(.build/$CONFIG/deepscope train --bench-steps "$S" --variant "w${W}d${D}r${R}" --batch "$B" --threads "$T" | tee /dev/stderr \
       | sed -n 's/^deepscope images\/s \([0-9.]*\).*/\1/p')
theirs=$(OMP_NUM_THREADS=$T "$PY" - "$W" "$D" "$R" "$B" "$S" "$T" <<'PYEOF' | tee /dev/stderr | sed -n 's/^pytorch images\/s \([0-9.]*\).*/\1/p'
import sys, time, torch
from efficientnet_pytorch import EfficientNet
w, d, r, b, s, t = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(t)
torch.manual_seed(0)
net = EfficientNet.from_name("efficientnet-b0", width_coefficient=w, depth_coefficient=d, image_size=r,
                             num_classes=1, dropout_rate=0.0, drop_connect_rate=0.0)
net.train()
opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
x = torch.randn(b, 3, r, r); y = (torch.arange(b) % 2).float().view(-1, 1)
def step():
    opt.zero_grad(); loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x), y); loss.backward(); opt.step()
step()
start = time.perf_counter()
for _ in range(s): step()
sec = time.perf_counter() - start
print(f"pytorch images/s {s * b / sec:.1f} (batch {b}, {s} steps, {t} threads)")
PYEOF
)
python3 -c "print(f'training throughput ratio deepscope/PyTorch: {$ours / $theirs:.2f}x')"
