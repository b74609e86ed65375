#!/usr/bin/env bash
# The shipped policy retaught with radial grasps (docs/LOG.md, 2026-12-02 evening), as run on CPU-2.
# The scripted expert now closes its jaws along the line from the base to the cube whatever the cube's yaw
# (sim/expert.py `_grasp_yaw`), so the pan and roll of a grasp are functions of the cube's position, which
# the objects token carries, and no longer of its rotation, which it does not. nano_radial continues
# `nano_via` step 1,500 (policies/tabletop_nano as shipped at 51f9fac) on the new expert's stream with the
# flags it was trained with, then is evaluated on the seeds the shipped policy's 25-episode figures use.
# 74 min of training (fp32, an AVX2-only 2-core EPYC) and 15 min of evaluation. Training streams from a
# worker process, so a rerun's samples arrive in another order and its figures move by a few points.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs}"
# The starting point is nano_via step 1,500, policies/tabletop_nano up to 0f51b40; nano_radial itself is shipped
# there since, so by default nano_via is taken out of git history (a clone has it) into $RUNS/nano_via_init.
if [ -z "${INIT:-}" ]; then
  INIT="$RUNS/nano_via_init/policies/tabletop_nano"
  [ -d "$INIT" ] || { mkdir -p "$RUNS/nano_via_init" && git archive 0f51b40 policies/tabletop_nano |
    tar -x -C "$RUNS/nano_via_init"; }
fi
STEPS="${STEPS:-1500}"
EVAL_EPISODES="${EVAL_EPISODES:-25}"   # per task
PRECISION="${PRECISION:-fp32}"  # bf16 only where the CPU has AVX-512 bf16 or AMX (vla/training/precision.py)
run="$RUNS/nano_radial/checkpoints/step_$(printf %07d "$STEPS")"
[ -d "$run" ] || "$PY" -m vla train --preset nano --stream-expert tabletop --stream-workers 1 \
  --stream-frames 30000 --stream-start-frames 2000 --stream-noise-deg 3 --batch-size 32 --save-every 500 \
  --log-every 50 --environment-state-weight 1 --shift-px 0 --precision "$PRECISION" --environment-state-token \
  --environment-state-teacher 1.0 --task-choice --arm-frame-features --instruction-via-choice \
  --init "$INIT" --no-freeze-vision --warmup-steps 100 --lr 3e-4 --steps "$STEPS" --seed 20 \
  --stream-seed 14000000 --out "$RUNS/nano_radial"
for instructions in train heldout; do
  "$PY" -m vla eval --policy "$run" --instructions "$instructions" --episodes-per-task "$EVAL_EPISODES" \
    --workers 2 --no-video --out "results/nano_radial_$instructions"
done
