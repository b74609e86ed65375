#!/usr/bin/env bash
# DAgger against a plain continuation, as run on CPU-2 (docs/LOG.md, 2026-12-02): the shipped policy of commit
# 7f7fe09 (`nano_arm` step 3,000, recipes/cpu_oracle_tabletop.sh stage 6) trained on with the oracle recipe's
# flags, once with that policy driving half the streamed episodes while the expert labels them
# (`--stream-dagger-policy`, vla/record_arrays.py) and once without, the same seeds and stream seeds, each
# evaluated on the same episodes. ~49 + 25 min of training and ~15 min of evaluation on 2 cores.
# Result: DAgger as built here (the expert's plan timed from reset labels the driven states) lowers success.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs}"
INIT="${INIT:-$RUNS/nano_arm/checkpoints/step_0003000}"  # nano_arm step 3,000: policies/tabletop_nano at 7f7fe09
EVAL_EPISODES="${EVAL_EPISODES:-25}"   # per task
common=(--preset nano --stream-expert tabletop --stream-workers 1 --stream-frames 30000 \
  --stream-start-frames 2000 --stream-noise-deg 3 --batch-size 32 --lr 3e-4 --save-every 500 --log-every 50 \
  --environment-state-weight 1 --shift-px 0 --precision bf16 --environment-state-token \
  --environment-state-teacher 1.0 --task-choice --arm-frame-features --init "$INIT" --no-freeze-vision \
  --steps 3000 --warmup-steps 100 --seed 17 --stream-seed 11000000)
[ -d "$RUNS/nano_dagger/checkpoints/step_0003000" ] || "$PY" -m vla train "${common[@]}" \
  --out "$RUNS/nano_dagger" --stream-dagger-policy "$INIT" --stream-dagger-share 0.5
# The continuation without DAgger, stopped where the two are compared.
[ -d "$RUNS/nano_nodagger/checkpoints/step_0001500" ] || "$PY" -m vla train "${common[@]}" \
  --out "$RUNS/nano_nodagger" --stop-at-step 1500
for run in nano_dagger/checkpoints/step_0001500 nano_nodagger/checkpoints/step_0001500; do
  "$PY" -m vla eval --policy "$RUNS/$run" --episodes-per-task "$EVAL_EPISODES" --workers 2 --no-video \
    --out "results/${run%%/*}_1500_train"
done
for instructions in train heldout; do
  "$PY" -m vla eval --policy "$RUNS/nano_dagger/checkpoints/step_0003000" --instructions "$instructions" \
    --episodes-per-task "$EVAL_EPISODES" --workers 2 --no-video --out "results/nano_dagger_$instructions"
done
"$PY" bench/dagger_label_gap.py --policy "$INIT"
