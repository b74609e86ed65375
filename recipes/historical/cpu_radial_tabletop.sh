#!/usr/bin/env bash
# HISTORICAL: written for the `vla train` command line before 2026-12-06; run it from a checkout of 25ab09a.
# The shipped policy retaught with radial grasps (docs/LOG.md, 2026-12-02 evening and 2026-12-03 evening), as
# run on CPU-2. The scripted expert closes its jaws along the line from the base to the cube whatever the
# cube's yaw (sim/expert.py `_grasp_yaw`), so the pan and roll of a grasp are functions of the cube's position,
# which the objects token carries, and no longer of its rotation, which it does not. Two stages, each a
# continuation on that expert's stream with the flags `nano_via` was trained with, then its evaluations:
#   radial  nano_via step 1,500 (policies/tabletop_nano at 0f51b40) -> nano_radial: 1,500 steps, seed 20,
#           stream seed 14,000,000, fp32 (74 min on an AVX2-only 2-core EPYC); 25 episodes per task.
#   more    nano_radial step 1,500 (policies/tabletop_nano at 178b772) -> nano_radial_more, shipped 2026-12-03
#           (evening) to 2026-12-04: 2,000 steps, seed 21, stream seed 15,000,000 (past the ~1,900 episodes
#           nano_radial saw), bf16 (47 min at 1.4 s per step on an AVX-512 bf16 EPYC); 100 episodes per task.
# The stream is the expert of the checkout you run: both stages were trained on the 45 % opening, so to
# reproduce them exactly run them from a checkout of 1c5d5d6 (since 2026-12-03 night the jaws open to 60 %,
# and a continuation on that stream needs --widen-normalization: vla/training/ranges.py).
# Each stage starts from the checkpoint that was shipped, taken out of git history (a clone has it) into
# $RUNS/<name>_init, so the shipped policy is reproduced without retraining what came before it; set
# INIT_MORE=runs/nano_radial/checkpoints/step_0001500 to continue your own stage-1 run instead. Training
# streams from a worker process, so a rerun's samples arrive in another order and its figures move by a few
# points. PRECISION overrides both stages' precision (bf16 only where the CPU has AVX-512 bf16 or AMX,
# vla/training/precision.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs}"
STAGES="${STAGES:-radial more}"

# The policy shipped at `commit`, extracted once into $RUNS/<name>_init; prints its directory.
shipped_at() {
  local commit="$1" name="$2" dir="$RUNS/$2_init"
  [ -d "$dir/policies/tabletop_nano" ] || { mkdir -p "$dir" && git archive "$commit" policies/tabletop_nano |
    tar -x -C "$dir"; }
  echo "$dir/policies/tabletop_nano"
}

# train_on_radial_stream NAME INIT STEPS SEED STREAM_SEED PRECISION EVAL_EPISODES
train_on_radial_stream() {
  local name="$1" init="$2" steps="$3" seed="$4" stream_seed="$5" precision="$6" episodes="$7"
  local run="$RUNS/$name/checkpoints/step_$(printf %07d "$steps")"
  [ -d "$run" ] || "$PY" -m vla train --preset nano --stream-expert tabletop --stream-workers 1 \
    --stream-frames 30000 --stream-start-frames 2000 --stream-noise-deg 3 --batch-size 32 --save-every 500 \
    --log-every 50 --environment-state-weight 1 --shift-px 0 --precision "$precision" --environment-state-token \
    --environment-state-teacher 1.0 --task-choice --arm-frame-features --instruction-via-choice \
    --init "$init" --no-freeze-vision --warmup-steps 100 --lr 3e-4 --steps "$steps" --seed "$seed" \
    --stream-seed "$stream_seed" --out "$RUNS/$name"
  for instructions in train heldout; do
    "$PY" -m vla eval --policy "$run" --instructions "$instructions" --episodes-per-task "$episodes" \
      --workers 2 --no-video --out "results/${name}_$instructions"
  done
}

for stage in $STAGES; do
  case "$stage" in
    radial) train_on_radial_stream nano_radial "${INIT:-$(shipped_at 0f51b40 nano_via)}" 1500 20 14000000 \
      "${PRECISION:-fp32}" "${EVAL_EPISODES:-25}" ;;
    more) train_on_radial_stream nano_radial_more "${INIT_MORE:-$(shipped_at 178b772 nano_radial)}" 2000 21 \
      15000000 "${PRECISION:-bf16}" "${EVAL_EPISODES:-100}" ;;
    *) echo "unknown stage '$stage' (STAGES takes: radial more)" >&2; exit 2 ;;
  esac
done
