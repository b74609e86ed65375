#!/usr/bin/env bash
# The shipped `nano` trained on at GPU scale: fresh expert layouts streamed from many render processes into
# a ring on the GPU while the policy trains (`vla train --data.stream.suite`), then its checkpoint kept. On the
# borrowed GPU machine it runs through bench/gpu/device_run.sh (RECIPE=recipes/gpu_stream_tabletop.sh,
# PY=python3, carried wheels); elsewhere after `make setup`. docs/RESULTS.md gives the figures and the machine.
#
# Why a continuation: every stage since nano_oracle (docs/LOG.md, 2026-12-01 to 12-03) trained on a 2-core
# CPU at ~30-50 samples/s, ~830k samples in all; the CPU stages' last continuations moved which layouts
# succeed but not how many, at 64k-96k samples each. Here the same flags get 1.4M samples in 6.5 min, on the
# expert whose jaws open to 60 % (sim/expert.py GRIPPER_OPEN since 2026-12-03 night), so the policy's
# gripper range is widened from 45 to 60 (--widen-normalization). The cosine follows the wall clock
# (--optim.schedule time), so the run ends at the bottom of it whatever the machine's speed.
#
# Reproducing the shipped `nano_stream` (2026-12-04, docs/RESULTS.md): its INIT is `nano_radial_more`, the
# policies/tabletop_nano of a37c33d. The working tree travels to the GPU machine whole and may hold 64 MiB
# with the carried wheels, so put that checkpoint in the policy's place rather than beside it:
#   git checkout a37c33d -- policies/tabletop_nano
#   device run (carry .whl .gl): RECIPE=recipes/gpu_stream_tabletop.sh TRAIN_SECONDS=390 RECIPE_SECONDS=500 \
#     bash bench/gpu/device_run.sh
#   git checkout HEAD -- policies/tabletop_nano
# The stream renders in 14 processes, so a rerun's samples arrive in another order: expect a few points.
#
# 1. a small held-out cache (2 episodes per task, seeds 500,000+): the run logs its loss and per-joint error
#    on layouts it never trains on, at every checkpoint
# 2. the continuation, capped at TRAIN_SECONDS of training
# 3. what to keep goes to KEEP: the last checkpoint (no optimizer state), the training log, TensorBoard
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
WORK="${WORK:-/tmp/vla_gpu}"                # held-out cache and the run
KEEP="${KEEP:-$WORK/keep}"                  # what to keep: checkpoint, logs
INIT="${INIT:-policies/tabletop_nano}"      # the shipped policy (see above for nano_stream's)
TRAIN_SECONDS="${TRAIN_SECONDS:-390}"       # training time; the lr reaches its floor here
STREAM_WORKERS="${STREAM_WORKERS:-14}"      # expert processes (~1,160 frames/s in all on the H200 machine)
STREAM_FRAMES="${STREAM_FRAMES:-300000}"    # the ring on the GPU: the newest 300k frames, ~29 GB
STREAM_START_FRAMES="${STREAM_START_FRAMES:-20000}"  # frames rendered before the first step (~15 s)
BATCH="${BATCH:-512}"
LR="${LR:-3e-4}"                            # the CPU stages' rate (batch 32), with a fresh optimiser
SEED="${SEED:-30}"
STREAM_SEED="${STREAM_SEED:-20000000}"      # past every stream seed the CPU stages used (up to ~16.1M)
VAL_WORKERS="${VAL_WORKERS:-$STREAM_WORKERS}"
VAL="$WORK/tabletop_expert_2_s500k"
mkdir -p "$KEEP" "$WORK/runs"
stamp() { echo "[$(date +%H:%M:%S) +$((SECONDS))s] $*"; }

stamp "held-out cache -> $VAL"
[ -f "$VAL/arrays.json" ] || "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task 2 \
  --seed 500000 --workers "$VAL_WORKERS" --root "$VAL" 2>&1 | tail -n 1
[ -f "$VAL/arrays.json" ] || { stamp "held-out cache failed"; exit 1; }

stamp "train nano from $INIT: ${TRAIN_SECONDS} s, batch $BATCH, $STREAM_WORKERS stream workers"
"$PY" -m vla train --policy.kind vla --policy.model nano --run.out "$WORK/runs/nano" --policy.init "$INIT" --policy.freeze_vision false \
  --policy.widen_normalization --data.stream.suite tabletop --data.stream.workers "$STREAM_WORKERS" \
  --data.stream.capacity "$STREAM_FRAMES" --data.stream.start_frames "$STREAM_START_FRAMES" --data.stream.noise_deg 3 \
  --data.stream.first_seed "$STREAM_SEED" \
  --objects.weight 1 --augment.shift_px 0 --objects.token --objects.teacher 1.0 \
  --objects.task_choice --objects.arm_frame --objects.via_choice \
  --optim.batch_size "$BATCH" --optim.lr "$LR" --optim.warmup_steps 200 --optim.steps 100000 --optim.max_seconds "$TRAIN_SECONDS" \
  --optim.schedule time --run.seed "$SEED" --run.save_every 1000 --run.log_every 100 --data.val_dataset "$VAL" 2>&1 \
  | tr '\r' '\n' | awk 'NR % 20 == 1 || !/training:/' | tee "$KEEP/train_nano.log" | grep -v "training:"
stamp "training done"

bash bench/gpu/keep_checkpoint.sh "$WORK/runs/nano/checkpoints/last" "$KEEP/nano_checkpoint"
cp -r "$WORK/runs/nano/tensorboard" "$KEEP/nano_tensorboard"
stamp "done"
