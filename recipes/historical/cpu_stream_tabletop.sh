#!/usr/bin/env bash
# HISTORICAL: it passes flags removed on 2026-12-06 (--state-dropout/--state-noise, --grounding-dims);
# run it from a checkout of 25ab09a, where they last existed.
# Train `nano` from scratch on a 2-core CPU, on expert episodes rendered while it trains, teaching it
# where the objects are and which ones the instruction names; then export and evaluate it.
#
# This is the run as it was made on CPU-2 (docs/LOG.md, 2026-12-01): four stages, each adding what the
# previous one showed was missing, each from the last one's checkpoint on fresh stream seeds.
#   1. localisation: the auxiliary loss on every object's position (`--environment-state-weight 1`),
#      no image shifts (`--shift-px 0`: the cameras are fixed, a shift moves the objects), expert bursts
#      (`--stream-noise-deg 3`, DART-style recovery data); 2,000 steps of a 10,000-step schedule
#   2. the predicted positions as a token before the instruction (`--environment-state-token`); 1,500 steps
#   3. teacher forcing of that token (`--environment-state-teacher 0.5`) and state dropout 0.25, because
#      the policy still ignored its cameras (images swapped: +0.2 degrees); 1,000 steps
#   4. grounding: a query after the words regresses where the instruction's object and destination are
#      (`--grounding-dims 6`), because the arm still went to the middle of the cubes whatever the words
# Streaming with one render worker leaves torch one core: ~27 samples/s. bf16 autocast (AMX).
#
# Stages 1-3 ran before the environment state gained its six task_* values (commit c9cbc83): from then on
# a head without grounding would regress those too. They therefore run from a worktree of commit 23db7aa,
# the code they ran on (each later commit there only added options), with the 16-value held-out cache.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
VAL="${VAL:-datasets/tabletop_heldout_s500k}"        # 22 values (stage 4)
VAL16="${VAL16:-datasets/tabletop_heldout16_s500k}"  # 16 values (stages 1-3, commit 23db7aa)
EARLY="${EARLY:-/tmp/vla_stages_1_3}"                # worktree of commit 23db7aa
RUNS="${RUNS:-runs}"
OUT="${OUT:-$RUNS/nano_grounding}"
STEPS="${STEPS:-6000}"                  # stage 4's schedule
STOP_AT="${STOP_AT:-0}"                 # > 0: stage 4 stops (and saves) at this step
TRAIN_SECONDS="${TRAIN_SECONDS:-0}"     # > 0: stage 4's wall-time cap
EVAL_EPISODES="${EVAL_EPISODES:-25}"    # per task

ROOT="$(pwd)"
[ -d "$VAL" ] || "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task 3 \
  --seed 500000 --workers 2 --root "$VAL"
[ -d "$EARLY" ] || git worktree add --detach "$EARLY" 23db7aa
[ -d "$VAL16" ] || (cd "$EARLY" && "$ROOT/$PY" -m vla record --source expert --arrays --suite tabletop \
  --episodes-per-task 3 --seed 500000 --workers 2 --root "$ROOT/$VAL16")
common=(--stream-expert tabletop --stream-workers 1 --stream-frames 30000 --stream-start-frames 2000 \
  --stream-noise-deg 3 --batch-size 32 --lr 3e-4 --save-every 500 --log-every 50 \
  --environment-state-weight 1 --shift-px 0 --precision bf16)
stage() {  # name, then its own flags; stages 1-3 on the code of commit 23db7aa (`python -m` runs the cwd's)
  local name=$1; shift
  (cd "$EARLY" && "$ROOT/$PY" -m vla train "${common[@]}" --val-dataset "$ROOT/$VAL16" --out "$ROOT/$RUNS/$name" "$@")
}
[ -d "$RUNS/nano_conv_aux/checkpoints/step_0002000" ] || stage nano_conv_aux --preset nano \
  --steps 10000 --stop-at-step 2000 --warmup-steps 300 --seed 1
[ -d "$RUNS/nano_conv_aux_token/checkpoints/step_0001500" ] || stage nano_conv_aux_token \
  --init "$ROOT/$RUNS/nano_conv_aux/checkpoints/step_0002000" --no-freeze-vision --environment-state-token \
  --stream-seed 2000000 --steps 8000 --stop-at-step 1500 --warmup-steps 100 --seed 2
[ -d "$RUNS/nano_conv_aux_teacher/checkpoints/step_0001000" ] || stage nano_conv_aux_teacher \
  --init "$ROOT/$RUNS/nano_conv_aux_token/checkpoints/step_0001500" --no-freeze-vision --environment-state-token \
  --environment-state-teacher 0.5 --state-dropout 0.25 --stream-seed 3000000 --steps 6000 \
  --stop-at-step 1000 --warmup-steps 100 --seed 3
"$PY" -m vla train "${common[@]}" --val-dataset "$VAL" --out "$OUT" \
  --init "$RUNS/nano_conv_aux_teacher/checkpoints/step_0001000" --no-freeze-vision \
  --environment-state-token --environment-state-teacher 0.5 --state-dropout 0.25 --grounding-dims 6 \
  --stream-seed 4000000 --steps "$STEPS" --stop-at-step "$STOP_AT" --warmup-steps 100 --seed 4 \
  --max-seconds "$TRAIN_SECONDS"
"$PY" -m vla export --policy "$OUT/checkpoints/last" --out "exports/$(basename "$OUT")"
"$PY" -m vla eval --policy "exports/$(basename "$OUT")" --suite tabletop --episodes-per-task "$EVAL_EPISODES" \
  --workers 2 --out "results/$(basename "$OUT")_train"
