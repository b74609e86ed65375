#!/usr/bin/env bash
# Train the `nano` VLA policy on the expert dataset, then evaluate it with training and held-out
# instructions. Every hyper-parameter is here; a GPU is used when present (bf16), else the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
DATASET="${DATASET:-datasets/tabletop_expert_100}"
OUT="${OUT:-runs/nano_tabletop}"
STEPS="${STEPS:-20000}"
.venv/bin/vla train --dataset "$DATASET" --out "$OUT" --preset nano --steps "$STEPS" --batch-size 64 \
  --lr 3e-4 --warmup-steps 500 --save-every 2000 --log-every 50 --seed 0 --num-workers 2
.venv/bin/vla eval --policy "$OUT/checkpoints/last" --suite tabletop --episodes-per-task "${EVAL_EPISODES:-100}" \
  --workers "${WORKERS:-2}" --out "results/$(basename "$OUT")_train"
.venv/bin/vla eval --policy "$OUT/checkpoints/last" --suite tabletop --episodes-per-task "${EVAL_EPISODES:-100}" \
  --workers "${WORKERS:-2}" --instructions heldout --out "results/$(basename "$OUT")_heldout"
