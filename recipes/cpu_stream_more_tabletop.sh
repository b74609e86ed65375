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
TRAIN_SECONDS="${TRAIN_SECONDS:-3300}"  # the cosine reaches its floor here (--optim.schedule time)
EVAL_EPISODES="${EVAL_EPISODES:-25}"   # per task
NAME="${NAME:-nano_retry_control}"  # its name when shipped
STREAM_SEED="${STREAM_SEED:-22000000}"  # first layout seed of the stream
SEED="${SEED:-32}"                      # vla train --run.seed
OUT="$RUNS/$NAME"
[ -d "$OUT/checkpoints/last" ] || "$PY" -m vla train --policy.kind vla --policy.model nano --run.out "$OUT" --policy.init "$INIT" \
  --policy.freeze_vision false --policy.widen_normalization --data.stream.suite tabletop --data.stream.workers 1 --data.stream.capacity 30000 \
  --data.stream.start_frames 2000 --data.stream.noise_deg 3 --data.stream.first_seed "$STREAM_SEED" \
  --objects.weight 1 --augment.shift_px 0 --optim.precision bf16 --objects.token \
  --objects.teacher 1.0 --objects.task_choice --objects.arm_frame --objects.via_choice \
  --optim.batch_size 32 --optim.lr 1e-4 --optim.warmup_steps 100 --optim.steps 100000 --optim.max_seconds "$TRAIN_SECONDS" \
  --optim.schedule time --run.seed "$SEED" --run.save_every 500 --run.log_every 50
"$PY" -m vla eval --policy "$OUT/checkpoints/last" --episodes-per-task "$EVAL_EPISODES" --seed 1000 \
  --workers 2 --no-video --out "results/${NAME}_s1000"
