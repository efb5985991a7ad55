#!/usr/bin/env bash
# EfficientNet-B4@224, Xception@299, ResNet-34@224 × batch 1, 8 × threads 1, 2: deepscope (release) vs onnxruntime and PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${ORACLE_PY:-/root/.cache/deepscope-oracle/venv/bin/python}
swift build -c release --product deepscope >&2
exec "$PY" scripts/bench_models.py --deepscope .build/release/deepscope "$@"
