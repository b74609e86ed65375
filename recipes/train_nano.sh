#!/usr/bin/env bash
# Train the `nano` VLA policy on the expert dataset, then evaluate it with training and held-out
# instructions. Every hyper-parameter is here; a GPU is used when present (bf16), else the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
DATASET="${DATASET:-datasets/tabletop_expert_100}"
OUT="${OUT:-runs/nano_tabletop}"
STEPS="${STEPS:-20000}"
.venv/bin/vla train --data.dataset "$DATASET" --run.out "$OUT" --policy.model nano --optim.steps "$STEPS" --optim.batch_size 64 \
  --optim.lr 3e-4 --optim.warmup_steps 500 --run.save_every 2000 --run.log_every 50 --run.seed 0 --data.num_workers 2
.venv/bin/vla eval --policy "$OUT/checkpoints/last" --suite tabletop --episodes-per-task "${EVAL_EPISODES:-100}" \
  --workers "${WORKERS:-2}" --out "results/$(basename "$OUT")_train"
.venv/bin/vla eval --policy "$OUT/checkpoints/last" --suite tabletop --episodes-per-task "${EVAL_EPISODES:-100}" \
  --workers "${WORKERS:-2}" --instructions heldout --out "results/$(basename "$OUT")_heldout"
