#!/usr/bin/env bash
# Share of explainer map mass inside the ground-truth blend mask of assets/samples/carphone_manipulated.mp4,
# per explainer and forgery method, for demo-autoatt (GradCAM, GradCAM++, LayerCAM, attention, SHAP) and
# demo-ltpa (ltpa1..3); prints a Markdown table (held-out frames 72–119 / all forged frames, chance level).
#   scripts/mask_mass.sh [WORKDIR]        (default a fresh temporary folder; maps and masks stay there)
# BIN=path/to/deepscope skips the release build. The masks come from `deepscope forge --masks-out` with the
# sample's seed (7) and plan, so they are exactly the masks blended into the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${ORACLE_PY:-/root/.cache/deepscope-oracle/venv/bin/python}
WORK=${1:-$(mktemp -d -t mask-mass-XXXXXX)}
if [[ -z "${BIN:-}" ]]; then swift build -c release --product deepscope >&2; BIN=.build/release/deepscope; fi
SAMPLE=assets/samples/carphone_manipulated.mp4
mkdir -p "$WORK"
[[ -d "$WORK/masks" ]] || "$BIN" forge assets/carphone_pristine.mp4 --seed 7 --masks-out "$WORK/masks" >&2
[[ -f "$WORK/autoatt/summary.json" ]] || "$BIN" analyze "$SAMPLE" --detector demo-autoatt \
  --explain gradcam,gradcampp,layercam,attention,shap --save-maps --out "$WORK/autoatt" >&2
[[ -f "$WORK/ltpa/summary.json" ]] || "$BIN" analyze "$SAMPLE" --detector demo-ltpa --explain ltpa --save-maps \
  --out "$WORK/ltpa" >&2
"$PY" scripts/mask_mass.py --masks "$WORK/masks" --truth assets/samples/carphone_manipulated.truth.json \
  --run "demo-autoatt=$WORK/autoatt" --run "demo-ltpa=$WORK/ltpa" --held-out 72:120
echo "maps and masks: $WORK" >&2
