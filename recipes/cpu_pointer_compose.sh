#!/usr/bin/env bash
# Issue 35, item 1 on a 2-core CPU: the shipped policy regrounded by the instruction pointer
# (vla/models/pointer.py). Its task choice among four cube slots and nine destinations, and its
# environment-state head over the fixed scene, are removed; the words now pick the task object and its
# destination among the image tokens of both cameras (or a place, or "nothing in view": abstain), each
# role reading its own words of the instruction (vla/models/role_words.py).
#
#  1. `vla train --objects.pointer` from policies/tabletop_nano (its backbone, action head and the objects
#     token's map of the task values carried over: vla/training/policy_setup.py `pointer_from`), the vision
#     tower trained too, on the expert stream of tabletop_compose's training compositions with ABSENT_SHARE
#     absent-object episodes (the expert holds still; the pointer's null learns from that flag), a new
#     layout every episode from seed STREAM_SEED (above every evaluated seed), for STEPS steps of 32.
#     LABELS=1: the pointed positions also learn from the simulator's task values (the environment state's
#     last six), the pointing itself from the front-camera tokens that show them (POINT, the loss's weight:
#     vla/training/pointing_labels.py), and a TEACHER share of samples show the recorded positions to the
#     actions (the rest the pointer's own); LABELS=0: the label-free variant, trained from images, state,
#     actions and the task string. Either way the front camera's tokens read their x, y from where in them
#     the words point, in 4 px cells of the frame, mapped to the table at the height the token reads out,
#     and the cells' scores join the tokens' (vla/models/pointer_heatmap.py; with LABELS=1 the cells and
#     their map to the table learn from the recorded positions' pixels and heights too).
#  2. the last checkpoint on the compose splits (training compositions, held-out compositions, absent
#     objects) and on the 8-task suite, on the seeds the shipped policy's figures use.
# Figures: results/<NAME>_{train,heldout,absent}_e<n>/ and results/<NAME>_tabletop_e<n>/. Nothing here is
# chosen on an evaluation split.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
INIT="${INIT:-policies/tabletop_nano}"
STEPS="${STEPS:-1000}"  # ~40 min on a 2-core CPU (2.4 s a step)
LR="${LR:-2e-4}"
LABELS="${LABELS:-1}"
POINT="${POINT:-1}"
TEACHER="${TEACHER:-0.5}"
ABSENT_SHARE="${ABSENT_SHARE:-0.25}"
STREAM_SEED="${STREAM_SEED:-24000000}"
# Episodes per task, seeds from 0: at least 100 per split (44 training compositions, 22 held-out ones, 44
# absent-object tasks, 8 tabletop tasks).
EVAL_TRAIN="${EVAL_TRAIN:-3}"
EVAL_HELDOUT="${EVAL_HELDOUT:-5}"
EVAL_ABSENT="${EVAL_ABSENT:-3}"
EVAL_OLD="${EVAL_OLD:-13}"
WORKERS="${WORKERS:-2}"
EVALUATE="${EVALUATE:-1}"  # 0: train only (a later call with 1 evaluates the saved checkpoint)
NAME="${NAME:-pointer_compose_l${LABELS}_hx_s${STEPS}_lr${LR}}"  # hx: the roles read their own words
OUT="runs/$NAME"

if [ "$LABELS" = 1 ]; then
  GROUNDING=(--objects.weight 1 --objects.point "$POINT" --objects.teacher "$TEACHER" --objects.arm_frame true)
else
  GROUNDING=(--objects.weight 0)
fi

[ -f "$OUT/checkpoints/last/model.safetensors" ] || "$PY" -m vla train --policy.init "$INIT" \
  --policy.freeze_vision false --data.stream.suite tabletop_compose --data.stream.workers 1 \
  --data.stream.capacity 30000 --data.stream.start_frames 2000 --data.stream.noise_deg 3 \
  --data.stream.absent_share "$ABSENT_SHARE" --data.stream.first_seed "$STREAM_SEED" \
  --objects.pointer true --objects.via_choice true "${GROUNDING[@]}" --abstain.weight 1 \
  --augment.shift_px 0 --optim.precision fp32 --optim.batch_size 32 --optim.lr "$LR" \
  --optim.warmup_steps 100 --optim.steps "$STEPS" \
  --run.out "$OUT" --run.save_every 500 --run.log_every 50

[ "$EVALUATE" = 1 ] || exit 0
evaluate() {  # suite, split, episodes per task, output folder; --reuse keeps one of the same checkpoint
  "$PY" -m vla eval --policy "$OUT/checkpoints/last" --suite "$1" --split "$2" --episodes-per-task "$3" \
    --workers "$WORKERS" --no-video --out "$4" --reuse
}
evaluate tabletop_compose absent "$EVAL_ABSENT" "results/${NAME}_absent_e${EVAL_ABSENT}"
evaluate tabletop_compose train "$EVAL_TRAIN" "results/${NAME}_train_e${EVAL_TRAIN}"
evaluate tabletop_compose heldout "$EVAL_HELDOUT" "results/${NAME}_heldout_e${EVAL_HELDOUT}"
evaluate tabletop train "$EVAL_OLD" "results/${NAME}_tabletop_e${EVAL_OLD}"
