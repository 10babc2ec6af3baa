#!/usr/bin/env bash
# GPU check of the LOSO speed, prepared to run as ONE command on a lent GPU machine (see README):
#
#   scripts/gpu_wheels.sh                # here, once: wheels the GPU image lacks, into .whl/
#   run (device tool): bash scripts/gpu_check.sh   with carry [".whl"]
#
# The device image has torch with CUDA, Lightning, transformers and torchmetrics, but not
# jsonargparse, wandb, decord, openpyxl, rich, the MiniLM package or OpenCV's contrib module, and it
# reaches no registry: everything else comes from the carried wheels. The dataset is rendered there
# (a CASME II-sized planned synthetic set: no licence-gated sheet leaves this machine), its DIS flow is
# computed on the device's CPU cores, then the 26-fold LOSO of configs/casme2.yaml runs with several
# folds per GPU and its figures are written to $OUT (bench_loso.json, the log, nvidia-smi).
set -euo pipefail
OUT="${OUT:-runs/gpu_check}"
PROCS="${PROCS:-6}"
mkdir -p "$OUT"
python -m pip install -q --no-index --find-links .whl --no-deps -r requirements/gpu.txt 2>&1 | tail -3
python -m pip install -q --no-index --no-deps --no-build-isolation -e . 2>&1 | tail -3
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=offline MER_CONTRAST_CACHE="$PWD/runs/gpu_cache"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia-smi.csv" || true
python -m mer_contrast synth --layout casme2 --out runs/gpu_data --subjects 26 --clips-per-subject 10 \
    --size 180 --overwrite > "$OUT/synth.log"
start=$(date +%s)
python -m mer_contrast bench loso --config configs/casme2.yaml --root runs/gpu_data --out runs/gpu_loso \
    --parallel-gpus 1 --procs-per-gpu "$PROCS" -- --data.init_args.flow.method=dis \
    --data.init_args.precompute_workers=12 --trainer.logger=false 2>&1 | tee "$OUT/bench_loso.log" | tail -5
echo "wall_s=$(( $(date +%s) - start )) procs_per_gpu=$PROCS" >> "$OUT/bench_loso.log"
cp runs/gpu_loso/bench_loso.json runs/gpu_loso/summary.md "$OUT/" 2>/dev/null || true
