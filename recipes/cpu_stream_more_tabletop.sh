#!/usr/bin/env bash
# The last stage of the shipped policy, as run on CPU-2 (docs/LOG.md, 2026-12-04 evening): `nano_stream`
# (policies/tabletop_nano of 5ee1824) trained on with its own flags for 3,300 s on a fresh expert stream, then
# the last checkpoint evaluated on seeds 1,000+ (away from the reported 0-99). ~55 min of training and ~3 min
# of evaluation on 2 cores. It ran then as the control of a retry-demonstration experiment (a share of the
# expert's grasps aimed beside the cube and retried; worse, docs/RESULTS.md), whose code was removed on
# 2026-12-06 (last at 25ab09a, recipes/cpu_retry_tabletop.sh).
# What it made is the shipped `nano_stream_more` (policies/tabletop_nano since 2026-12-04 night): 2,603 steps of
# 32 in the 3,300 s on CPU-2; the schedule follows the wall clock, so a slower or busier machine makes fewer.
# Its training code was baa9e1c's: `--widen-normalization` then widened every dimension once one was out of
# range, and now only those (docs/LOG.md, 2026-12-05), so a rerun with today's code leaves wrist flex's state
# range as it was. To rerun it, put its init, `nano_stream`, in the policy's place first:
#   git checkout 76506b5 -- policies/tabletop_nano
#   bash recipes/cpu_stream_more_tabletop.sh
#   git checkout HEAD -- policies/tabletop_nano
# A second continuation of the shipped policy (2026-12-05, worse: docs/RESULTS.md) ran as
#   NAME=nano_stream_more2 STREAM_SEED=23000000 SEED=33 bash recipes/cpu_stream_more_tabletop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs}"
INIT="${INIT:-policies/tabletop_nano}"
TRAIN_SECONDS="${TRAIN_SECONDS:-3300}"  # the cosine reaches its floor here (--lr-schedule time)
EVAL_EPISODES="${EVAL_EPISODES:-25}"   # per task
NAME="${NAME:-nano_retry_control}"  # its name when shipped
STREAM_SEED="${STREAM_SEED:-22000000}"  # first layout seed of the stream
SEED="${SEED:-32}"                      # vla train --seed
OUT="$RUNS/$NAME"
[ -d "$OUT/checkpoints/last" ] || "$PY" -m vla train --policy vla --preset nano --out "$OUT" --init "$INIT" \
  --no-freeze-vision --widen-normalization --stream-expert tabletop --stream-workers 1 --stream-frames 30000 \
  --stream-start-frames 2000 --stream-noise-deg 3 --stream-seed "$STREAM_SEED" \
  --environment-state-weight 1 --shift-px 0 --precision bf16 --environment-state-token \
  --environment-state-teacher 1.0 --task-choice --arm-frame-features --instruction-via-choice \
  --batch-size 32 --lr 1e-4 --warmup-steps 100 --steps 100000 --max-seconds "$TRAIN_SECONDS" \
  --lr-schedule time --seed "$SEED" --save-every 500 --log-every 50
"$PY" -m vla eval --policy "$OUT/checkpoints/last" --episodes-per-task "$EVAL_EPISODES" --seed 1000 \
  --workers 2 --no-video --out "results/${NAME}_s1000"
