#!/usr/bin/env bash
# GPU check: one script that checks and times pokegan on a CUDA machine, every phase under a
# deadline, its results in $OUT (default /tmp/pokegan_gpu_check):
#  1. the CUDA tests;
#  2. the study's full-scale dcgan_artwork (200 epochs of artwork x3, batch 32) timed alone,
#     eager and under torch.compile (mode default: the CUDA-graph modes are refused on a GPU,
#     docs/budgets.md). Measured eager on one H200: 1.1-1.9 s per epoch, 3.5-6.5 min in all;
#  3. optional bench/ablation.py runs (RUNS), side by side on the one GPU, trained only, so a
#     GPU machine without the Inception weights (87 MB) can run them: each run's chosen
#     checkpoints are reduced to their EMA G (~10 MB) under $OUT/ema and scored on a machine
#     that has the weights with `bench/ablation.py curve ... --work <that folder>`.
# Because every phase has a deadline (seconds), the script ends in a known time; a timed run
# cut short says so, and an ablation run cut short keeps its last checkpoint (CKPT_EVERY epochs apart).
#
#   bash bench/gpu_check.sh
#   RUNS="best+ada0.4:0:898800 best:0:449400" EXPORT_EPOCHS="200 400" bash bench/gpu_check.sh
#   EPOCHS=1 MODES=none RUNS="best:0:4494" CKPT_EVERY=1 bash bench/gpu_check.sh  # smoke test, any machine
#
# Needs data/prepared/artwork (dvc repro augment, or carried along) and torch, numpy, pandas,
# pyyaml, pillow, tqdm; not dvc/dvclive (training here writes no DVCLive logs).
set -uo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-200}
VARIANT=${VARIANT:-dcgan_artwork}
MODES=${MODES:-none default}            # values of the `compile` param to time, in order
TIME_LIMIT=${TIME_LIMIT:-150}           # seconds per timed mode
RUNS=${RUNS:-}                          # config:seed:images ... (bench/ablation.py CONFIGS)
RUN_LIMIT=${RUN_LIMIT:-240}             # seconds for all RUNS together
CKPT_EVERY=${CKPT_EVERY:-20}            # epochs between the RUNS' checkpoints
RUN_THREADS=${RUN_THREADS:-2}           # CPU threads of each of the RUNS (they share the cores)
EXPORT_EPOCHS=${EXPORT_EPOCHS:-}        # checkpoints to export (default: each run's last)
TEST_LIMIT=${TEST_LIMIT:-180}           # seconds for the CUDA tests; 0 = skip them
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/pokegan_gpu_check}
WORK=${WORK:-/tmp/pokegan_gpu_work}     # kept afterwards: a second run can export more
mkdir -p "$OUT/logs" "$WORK"
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"

$PY - <<'PY' 2>&1 | tee -a "$OUT/summary.txt"
import platform, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-",
      "bf16", torch.cuda.is_available() and torch.cuda.is_bf16_supported())
PY

if [ "$TEST_LIMIT" -gt 0 ]; then
  echo "== CUDA tests"
  timeout "$TEST_LIMIT" $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py > "$OUT/logs/cuda_tests.log" 2>&1
  summary "CUDA tests (rc $?): $(tail -1 "$OUT/logs/cuda_tests.log")"
fi

for mode in $MODES; do
  echo "== full-scale $VARIANT: $EPOCHS epochs, compile=$mode (deadline ${TIME_LIMIT} s)"
  dir="$WORK/time_$mode"
  rm -rf "$dir"
  start=$(date +%s)
  timeout "$TIME_LIMIT" $PY - "$VARIANT" "$EPOCHS" "$mode" "$dir" > "$OUT/logs/time_$mode.log" 2>&1 <<'PY'
import dataclasses, json, sys
from pokegan import config
from pokegan.data.prepared import TRAIN_ON_KINDS, load_prepared
from pokegan.training import train

variant, epochs, mode, model_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cfg = dataclasses.replace(config.load("params.yaml").variant(variant), epochs=epochs, compile=mode,
                          checkpoint_every=max(1, epochs // 10))
images, _, meta = load_prepared(cfg.dataset, kinds=TRAIN_ON_KINDS[cfg.train_on])
info = train(variant, cfg, images, data_fingerprint=meta["fingerprint"], model_dir=model_dir,
             log=lambda m: print(m, flush=True))
keep = ("epochs", "images_seen", "device", "precision", "seconds", "images_per_s", "epoch_seconds")
print("INFO", json.dumps({k: info.get(k) for k in keep}))
PY
  rc=$?
  secs=$(( $(date +%s) - start ))
  ckpts=$(ls "$dir/checkpoints" 2>/dev/null | tr '\n' ' ')
  summary "$VARIANT $EPOCHS epochs, compile=$mode: rc $rc, ${secs} s wall (goal on one H200: < 120 s; rc 124 = cut at the deadline), checkpoints: ${ckpts:-none}"
  grep '^INFO' "$OUT/logs/time_$mode.log" | tee -a "$OUT/summary.txt"
done

if [ -n "$RUNS" ]; then
  echo "== ablation runs side by side: $RUNS (deadline ${RUN_LIMIT} s)"
  start=$(date +%s)
  pids=() names=()
  for run in $RUNS; do
    IFS=: read -r config seed images <<< "$run"
    names+=("$config seed $seed")
    POKEGAN_THREADS=$RUN_THREADS timeout "$RUN_LIMIT" $PY bench/ablation.py run --train-only --configs "$config" --seeds "$seed" \
      --images "$images" --checkpoint-every "$CKPT_EVERY" --work "$WORK/abl" \
      > "$OUT/logs/run_${config//+/_plus_}_s$seed.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}"
    summary "${names[$i]}: rc $? after $(( $(date +%s) - start )) s (124 = cut at the deadline)"
  done
  for run in $RUNS; do
    IFS=: read -r config seed images <<< "$run"
    summary "$(grep -h 'trained in' "$OUT/logs/run_${config//+/_plus_}_s$seed.log" || echo 'cut short'); checkpoints: $(ls "$WORK/abl/${config}_s$seed/checkpoints" 2>/dev/null | tr '\n' ' ')"
    $PY bench/ablation.py export "$OUT/ema" --configs "$config" --seeds "$seed" --work "$WORK/abl" \
      ${EXPORT_EPOCHS:+--epochs $EXPORT_EPOCHS} 2>&1 | tee -a "$OUT/summary.txt"
  done
fi
tar -czf "$OUT/logs.tgz" -C "$OUT" logs && rm -rf "$OUT/logs"
cat "$OUT/summary.txt"
