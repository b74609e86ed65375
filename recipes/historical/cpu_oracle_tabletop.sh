#!/usr/bin/env bash
# HISTORICAL: written for the `vla train` command line before 2026-12-06; run it from a checkout of 25ab09a.
# The perception/grounding split of docs/RESULTS.md ("With exact object positions"), as run on CPU-2:
# nano from scratch on streamed fresh layouts with the objects token always showing the recorded object
# positions (`--environment-state-teacher 1.0`, no grounding query, so the token carries all 22 values),
# continued twice, each continuation evaluated three ways on the same seeds: with exact positions, with its own
# predictions plus which objects the instruction names, and with its own predictions alone.
# ~45 + 38 + 35 + 72 + 29 + 48 min of training and ~60 min of evaluation on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs}"
EVAL_EPISODES="${EVAL_EPISODES:-25}"   # per task
common=(--preset nano --stream-expert tabletop --stream-workers 1 --stream-frames 30000 \
  --stream-start-frames 2000 --stream-noise-deg 3 --batch-size 32 --lr 3e-4 --save-every 500 --log-every 50 \
  --environment-state-weight 1 --shift-px 0 --precision bf16 --environment-state-token \
  --environment-state-teacher 1.0)
[ -d "$RUNS/nano_oracle/checkpoints/step_0004000" ] || "$PY" -m vla train "${common[@]}" \
  --out "$RUNS/nano_oracle" --steps 4000 --warmup-steps 300 --seed 11 --stream-seed 5000000
[ -d "$RUNS/nano_oracle_more/checkpoints/step_0003000" ] || "$PY" -m vla train "${common[@]}" \
  --out "$RUNS/nano_oracle_more" --init "$RUNS/nano_oracle/checkpoints/step_0004000" --no-freeze-vision \
  --steps 3000 --warmup-steps 100 --seed 12 --stream-seed 6000000
# The third stage ran under a 35 min cap (`--max-seconds 2100`), which stopped it at step 2,375 of its
# 3,000-step schedule; `--stop-at-step` makes that exact.
[ -d "$RUNS/nano_oracle_more2/checkpoints/step_0002375" ] || "$PY" -m vla train "${common[@]}" \
  --out "$RUNS/nano_oracle_more2" --init "$RUNS/nano_oracle_more/checkpoints/step_0003000" --no-freeze-vision \
  --steps 3000 --stop-at-step 2375 --warmup-steps 100 --seed 13 --stream-seed 7000000
# Fourth stage, deployable: grounding as a choice (`--task-choice`, vla/models/task_choice.py) added to the
# third stage's checkpoint and trained on; the token's task values are the chosen objects' predictions.
[ -d "$RUNS/nano_choice/checkpoints/step_0006000" ] || "$PY" -m vla train "${common[@]}" --task-choice \
  --out "$RUNS/nano_choice" --init "$RUNS/nano_oracle_more2/checkpoints/step_0002375" --no-freeze-vision \
  --steps 6000 --warmup-steps 100 --seed 14 --stream-seed 8000000
# Fifth stage: a push's side is a destination of the choice (`left_side`, `right_side`; sim/env.py
# fixed_destinations), appended to the fourth stage's choice, so the token tells a push from a pick.
[ -d "$RUNS/nano_side/checkpoints/step_0002500" ] || "$PY" -m vla train "${common[@]}" --task-choice \
  --out "$RUNS/nano_side" --init "$RUNS/nano_choice/checkpoints/step_0006000" --no-freeze-vision \
  --steps 2500 --warmup-steps 100 --seed 15 --stream-seed 9000000
# Sixth stage, shipped as policies/tabletop_nano until 2026-12-02 (now its continuation `nano_via`,
# recipes/cpu_continuations_tabletop.sh): the token also carries the task object's and destination's
# bearing and reach from the arm's base (`--arm-frame-features`, vla/models/arm_frame.py).
[ -d "$RUNS/nano_arm/checkpoints/step_0003000" ] || "$PY" -m vla train "${common[@]}" --task-choice \
  --arm-frame-features --out "$RUNS/nano_arm" --init "$RUNS/nano_side/checkpoints/step_0002500" \
  --no-freeze-vision --steps 3000 --warmup-steps 100 --seed 16 --stream-seed 10000000
for run in nano_choice/checkpoints/step_0006000 nano_side/checkpoints/step_0002500 \
  nano_arm/checkpoints/step_0003000; do
  "$PY" -m vla bench language --policy "$RUNS/$run"
  for instructions in train heldout; do
    "$PY" -m vla eval --policy "$RUNS/$run" --instructions "$instructions" --episodes-per-task "$EVAL_EPISODES" \
      --workers 2 --no-video --out "results/${run%%/*}_$instructions"
  done
done
for checkpoint in "$RUNS/nano_oracle_more/checkpoints/step_0003000" \
  "$RUNS/nano_oracle_more2/checkpoints/step_0002375"; do
  for mode in exact grounding none; do
    oracle=()
    [ "$mode" = none ] || oracle=(--oracle-objects "$mode")
    "$PY" -m vla eval --policy "$checkpoint" "${oracle[@]}" --episodes-per-task "$EVAL_EPISODES" --workers 2 \
      --no-video --out "results/$(basename "$(dirname "$(dirname "$checkpoint")")")_$mode"
    "$PY" bench/chunk_trace.py --policy "$checkpoint" "${oracle[@]}" --task pick_red_cube --task pick_green_cube \
      --task place_red_cube_in_white_bowl --task stack_blue_cube_on_red_cube --episodes 3 --every 0 | tail -n 2
  done
done
