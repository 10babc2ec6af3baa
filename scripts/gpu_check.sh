#!/usr/bin/env bash
# GPU check of the LOSO speed, prepared to run as ONE command on a lent GPU machine (see README):
#
#   scripts/gpu_wheels.sh                # here, once: wheels the GPU image lacks, into .whl/
#   run (device tool): bash scripts/gpu_check.sh   with carry [".whl"]
#   bash scripts/gpu_check.sh --cpu-dry-run   # anywhere: the same steps, tiny, on the CPU (tests, CI)
#
# The device image has torch with CUDA, Lightning, transformers and torchmetrics, but not
# jsonargparse, wandb, decord, openpyxl, rich, platformdirs, the MiniLM package, OpenCV or matplotlib,
# and it reaches no registry: everything else comes from the carried wheels (requirements/gpu.txt;
# tests/test_gpu_check.py checks it covers every import of the check). The dataset is rendered there
# (a CASME II-sized planned synthetic set: no licence-gated sheet leaves this machine), its DIS flow
# is computed on the device's CPU cores (without the landmark alignment: dlib is not carried, and it
# costs the precompute a few ms a clip), then the 26-fold LOSO of configs/casme2.yaml runs with several
# folds per GPU and its figures are written to $OUT (bench_loso.json, the log, nvidia-smi).
#
# --cpu-dry-run: no install (the current environment), a 3-subject twin, 2 folds of 1 epoch on the
# CPU (the second in a fold child, as on the GPU), otherwise the same commands and outputs.
# Environment: OUT (figures), GPU_CHECK_WORK (data, cache and run folders; default runs), PYTHON.
set -euo pipefail
DRY_RUN=0
case "${1:-}" in
    --cpu-dry-run) DRY_RUN=1 ;;
    "") ;;
    *) echo "usage: bash scripts/gpu_check.sh [--cpu-dry-run]" >&2; exit 2 ;;
esac
PY="${PYTHON:-python}"
WORK="${GPU_CHECK_WORK:-runs}"
OUT="${OUT:-$WORK/gpu_check}"
if [ "$DRY_RUN" = 1 ]; then
    PROCS="${PROCS:-2}"
    SYNTH=(--subjects 3 --clips-per-subject 4 --size 96)
    LOSO=(--max-folds 2)
    TRAINER=(--trainer.accelerator=cpu --trainer.max_epochs=1 --trainer.benchmark=false
             --data.init_args.precompute_workers=0)
else
    PROCS="${PROCS:-6}"
    SYNTH=(--subjects 26 --clips-per-subject 10 --size 180)
    LOSO=()
    TRAINER=(--data.init_args.precompute_workers=12)
fi
mkdir -p "$OUT" "$WORK"
if [ "$DRY_RUN" = 0 ]; then
    "$PY" -m pip install -q --no-index --find-links .whl --no-deps -r requirements/gpu.txt 2>&1 | tail -3
    "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . 2>&1 | tail -3
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.csv" || true
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=offline
MER_CONTRAST_CACHE="$(cd "$WORK" && pwd)/gpu_cache"
export MER_CONTRAST_CACHE
"$PY" -m mer_contrast synth --layout casme2 --out "$WORK/gpu_data" "${SYNTH[@]}" --overwrite > "$OUT/synth.log"
start=$(date +%s)
"$PY" -m mer_contrast bench loso --config configs/casme2.yaml --root "$WORK/gpu_data" \
    --out "$WORK/gpu_loso" "${LOSO[@]}" --parallel-gpus 1 --procs-per-gpu "$PROCS" -- \
    --data.init_args.flow.method=dis --data.init_args.align=none "${TRAINER[@]}" --trainer.logger=false \
    2>&1 | tee "$OUT/bench_loso.log" | tail -5
echo "wall_s=$(( $(date +%s) - start )) procs_per_gpu=$PROCS dry_run=$DRY_RUN" >> "$OUT/bench_loso.log"
cp "$WORK/gpu_loso/bench_loso.json" "$WORK/gpu_loso/summary.md" "$OUT/"
