#!/usr/bin/env bash
# Fine-tune the GPU-trained `nano` on fresh expert episodes, on a CPU, watching a held-out loss.
#
# Why: the GPU run (recipes/historical/gpu_tabletop.sh, 640 episodes, ~10 epochs) memorised its episodes: loss 1.0 on
# them, 4.1 on new layouts of the same tasks (docs/LOG.md, 2026-11-28). More passes over the same frames
# cannot fix that; new layouts can. On a 2-core CPU, rendering (~80 frames/s) outpaces training
# (~30 samples/s), so every sample here is a frame the policy has not memorised.
#
# 1. a frame cache of NEW expert episodes (seeds from 300000; the GPU run used 100000-164999)
# 2. a small validation cache from seeds no training run uses (500000)
# 3. fine-tune from INIT with the held-out loss at the start and at every checkpoint
# 4. evaluate the last checkpoint, exported, with training instructions
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
INIT="${INIT:-policies/tabletop_nano}"
EPISODES="${EPISODES:-60}"              # new expert episodes per task
DATA="${DATA:-datasets/tabletop_expert_${EPISODES}_s300k}"
VAL="${VAL:-datasets/tabletop_expert_2_s500k}"
OUT="${OUT:-runs/nano_cpu_ft}"
STEPS="${STEPS:-6000}"                  # cosine schedule length
TRAIN_SECONDS="${TRAIN_SECONDS:-6000}"  # wall-time cap (the schedule may not finish)
WORKERS="${WORKERS:-2}"

[ -d "$DATA" ] || "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task "$EPISODES" \
  --seed 300000 --workers "$WORKERS" --root "$DATA"
[ -d "$VAL" ] || "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task 2 \
  --seed 500000 --workers "$WORKERS" --root "$VAL"
"$PY" -m vla train --data.dataset "$DATA" --data.val_dataset "$VAL" --run.out "$OUT" --policy.init "$INIT" --policy.freeze_vision false \
  --optim.steps "$STEPS" --optim.batch_size 32 --optim.lr 1.5e-4 --optim.warmup_steps 100 --run.save_every 500 --run.log_every 50 --run.seed 1 \
  --optim.max_seconds "$TRAIN_SECONDS"
"$PY" -m vla export --policy "$OUT/checkpoints/last" --out "exports/$(basename "$OUT")"
"$PY" -m vla eval --policy "exports/$(basename "$OUT")" --suite tabletop --episodes-per-task "${EVAL_EPISODES:-25}" \
  --workers "$WORKERS" --out "results/$(basename "$OUT")_train"
