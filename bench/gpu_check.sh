#!/usr/bin/env bash
# GPU check, one prepared script: the CUDA tests, then the study's full-scale dcgan_artwork
# (200 epochs of artwork x3, batch 32) timed on the device, eager and under torch.compile
# (reduce-overhead = CUDA graphs). Goal on one H200: under 2 minutes.
#
#   bash bench/gpu_check.sh                       # on a GPU machine, from the repository root
#   EPOCHS=1 MODES=none bash bench/gpu_check.sh   # smoke test of the script itself (any machine)
#
# Needs data/prepared/artwork (dvc repro augment, or carried along) and the venv (make install).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-200}
VARIANT=${VARIANT:-dcgan_artwork}
MODES=${MODES:-none reduce-overhead}    # values of the `compile` param to time, in order
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT=${OUT:-/tmp/pokegan_gpu_check}
mkdir -p "$OUT"
rm -f "$OUT/summary.txt"

$PY - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
PY
echo "== CUDA tests"
$PY -m pytest -q tests/test_cuda.py 2>&1 | tail -5

for mode in $MODES; do
  echo "== full-scale $VARIANT: $EPOCHS epochs, compile=$mode"
  work=$(mktemp -d)
  cp -r src stages "$work"/
  mkdir -p "$work/data"
  ln -s "$(pwd)/data/prepared" "$work/data/prepared"
  $PY - "$work/params.yaml" "$VARIANT" "$EPOCHS" "$mode" <<'PY'
import sys, yaml
out, variant, epochs, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
raw = yaml.safe_load(open("params.yaml"))
raw["variants"] = {variant: {**raw["variants"][variant], "epochs": epochs, "compile": mode,
                             "checkpoint_every": max(1, epochs // 10)}}
yaml.safe_dump(raw, open(out, "w"))
PY
  start=$(date +%s)
  (cd "$work" && PYTHONPATH="$work/src" $PY stages/train.py "$VARIANT" --no-progress) \
    | tee "$OUT/train_$mode.log"
  secs=$(( $(date +%s) - start ))
  echo "== $VARIANT $EPOCHS epochs, compile=$mode: ${secs} s wall (goal on one H200: < 120 s)" \
    | tee -a "$OUT/train_$mode.log" "$OUT/summary.txt"
  cp "$work/models/$VARIANT/info.json" "$OUT/info_$mode.json"
  cp "$work/plots/train/$VARIANT/run.json" "$OUT/run_$mode.json"
  cp "$work/plots/train/$VARIANT/samples.png" "$OUT/samples_$mode.png" 2>/dev/null || true
  rm -rf "$work"
done
cat "$OUT/summary.txt"
