#!/usr/bin/env bash
# On a CPU: nano, LeRobot's ACT and LeRobot's Diffusion Policy trained side by side from scratch on one
# frame cache of expert episodes, with the same optimiser steps and batch size, then evaluated by the
# same harness (`vla eval`, the same seeds). The baselines' models, LRs and schedules are lerobot's
# presets (vla/baselines/lerobot_policies.py lists the few deviations); nano uses the shipped policy's
# training flags (recipes/historical/cpu_oracle_tabletop.sh) without the stream.
#
# The step budget is what a 2-core CPU affords in about an hour and a quarter (bf16 autocast, CPU-2: nano
# 0.24 s, ACT 1.1-1.6 s, Diffusion 3.6 s per step of 16), far below the shipped policy's 15,375 steps of
# 32: the table compares the three at one small budget; it does not rank them at convergence.
# Diffusion's evaluation is the slow one (one DDIM query of 10 denoising steps takes 4.5 s on one core
# and serves 32 control steps: ~45 s per episode), hence its fewer episodes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs/baselines_cpu}"
EPISODES="${EPISODES:-50}"              # expert episodes per task in the frame cache (54k frames at 50)
DATA="${DATA:-datasets/tabletop_expert_${EPISODES}_arrays}"
STEPS="${STEPS:-800}"                   # optimiser steps, the same for all three
BATCH="${BATCH:-16}"                    # samples per step, the same for all three
EVAL_EPISODES="${EVAL_EPISODES:-10}"    # per task, the same seeds (0, 1, ...) for all three
DIFFUSION_EVAL_EPISODES="${DIFFUSION_EVAL_EPISODES:-5}"  # per task, the first of those seeds
POLICIES="${POLICIES:-nano act diffusion}"
mkdir -p "$RUNS"
stamp() { echo "[$(date +%H:%M:%S) +${SECONDS}s] $*"; }

if [ ! -f "$DATA/arrays.json" ]; then
  stamp "record $EPISODES expert episodes per task -> $DATA"
  "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task "$EPISODES" \
    --seed 100000 --workers 2 --root "$DATA" 2>&1 | tail -n 1
fi

common=(--data.dataset "$DATA" --optim.steps "$STEPS" --optim.batch_size "$BATCH" --run.seed 0 --optim.precision bf16 \
  --run.save_every "$STEPS" --run.log_every 50)
nano=(--policy.kind vla --policy.model nano --optim.lr 3e-4 --optim.warmup_steps 100 --objects.weight 1 --augment.shift_px 0 \
  --objects.token --objects.teacher 1.0 --objects.task_choice)
for policy in $POLICIES; do
  out="$RUNS/$policy"
  args=(--policy.kind "$policy")
  [ "$policy" = nano ] && args=("${nano[@]}")
  if [ ! -f "$out/training_done" ]; then
    stamp "train $policy: $STEPS steps x $BATCH"
    "$PY" -m vla train "${common[@]}" "${args[@]}" --run.out "$out" 2>&1 | tr '\r' '\n' \
      | grep -v -E "training: |it/s\]" > "$RUNS/$policy.train.log"
    touch "$out/training_done"
    tail -n 2 "$RUNS/$policy.train.log"
  fi
  episodes="$EVAL_EPISODES"
  [ "$policy" = diffusion ] && episodes="$DIFFUSION_EVAL_EPISODES"
  stamp "evaluate $policy: $episodes episodes per task"
  "$PY" -m vla eval --policy "$out/checkpoints/last" --episodes-per-task "$episodes" --workers 2 --no-video \
    --out "results/baselines_cpu_$policy" 2>/dev/null | tail -n 14
done
stamp "done"
