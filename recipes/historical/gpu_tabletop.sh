#!/usr/bin/env bash
# HISTORICAL: it passes flags removed on 2026-12-06 (--state-dropout/--state-noise, --grounding-dims);
# run it from a checkout of 25ab09a, where they last existed.
# The shipped `nano` policy and LeRobot's ACT and Diffusion Policy, trained side by side on one GPU machine
# with the same frames, batches and optimiser steps, then evaluated by the same harness. Every setting is
# here; docs/RESULTS.md gives the figures and the machine. On the borrowed GPU machine it runs through
# bench/gpu/device_run.sh (PY=python3, carried wheels); elsewhere after `make setup`.
#
# 1. expert demonstrations of every task, rendered straight into a frame cache (parallel workers), and a
#    small held-out cache from other seeds: the run logs its loss on layouts it never trains on
# 2. nano, ACT and Diffusion trained at the same time, one process each, for STEPS steps of BATCH samples;
#    with STREAM_WORKERS > 0, nano instead trains on a stream of fresh layouts rendered while it trains
#    (`vla train --stream-expert`): no layout is repeated, and training starts after seconds, not minutes
# 3. evaluation: the baselines with training instructions, then nano with training and held-out ones
# 4. what to keep goes to KEEP: the nano checkpoint (no optimizer state), eval_info.json files, logs
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
WORK="${WORK:-/tmp/vla_gpu}"                # frame cache and runs (~10 GB of frames for 100 episodes/task)
KEEP="${KEEP:-$WORK/keep}"                # what to keep: checkpoint, eval_info files, logs
# Expert episodes per task. 80 (the shipped policy's run: ~10 epochs of 86k frames) was memorised: loss 1.0
# on its own episodes, 4.1 on new layouts (docs/LOG.md, 2026-11-28). New layouts are what generalises, and
# rendering (~1,300 frames/s on 14 cores) is cheap next to training: 250 per task is ~270k frames, ~26 GB
# of uint8 frames in GPU memory per training process, ~3.5 min to render, a few epochs in the time the
# machine is lent. nano and both baselines hold a copy each: ~80 GB, so use 120 on an 80 GB GPU.
EPISODES="${EPISODES:-250}"
# > 0: nano streams fresh layouts from this many expert processes instead of training on the cache above,
# which is then recorded only for the baselines. A side-by-side table (same frames for all three) needs 0.
STREAM_WORKERS="${STREAM_WORKERS:-0}"
STREAM_FRAMES="${STREAM_FRAMES:-300000}"   # the ring on the GPU: newest 300k frames, ~29 GB
# > 0: the expert's executed arm targets are pushed off its plan in bursts of up to this many degrees per
# joint while the recorded action stays the expert's (sim/expert_noise.py): recovery data, for the cache
# and the stream alike. See docs/LOG.md (2026-11-28, perturbed demonstrations) for the CPU A/B.
EXPERT_NOISE_DEG="${EXPERT_NOISE_DEG:-0}"
# > 0: nano's joint-state input gets Gaussian noise of this std (normalised units, 0.1 ~ 2-11 degrees by
# joint) while training, against copying the joints instead of reading the cameras (docs/LOG.md, 2026-11-28/29).
STATE_NOISE="${STATE_NOISE:-0}"
# > 0: this share of nano's training samples gets no joint state at all (zeroed), so their chunks must be
# read from the cameras and the instruction (docs/LOG.md, 2026-11-29, state dropout).
STATE_DROPOUT="${STATE_DROPOUT:-0.25}"
# nano's auxiliary loss on the simulator's object positions (observation.environment_state, which the frame
# cache and the stream record), read out of the image tokens; 0 turns it off (docs/LOG.md, 2026-12-01).
ENV_STATE_WEIGHT="${ENV_STATE_WEIGHT:-1}"
# nano's random image shift (pixels). The cameras are fixed, so a shift moves every object in the picture:
# 6 px on the front camera is ~2 cm on the table, where grasping needs a few millimetres. 0: colour jitter only.
SHIFT_PX="${SHIFT_PX:-0}"
# The CPU run's last stage (recipes/cpu_stream_tabletop.sh, docs/LOG.md 2026-12-01): the predicted positions
# as a token (1: on), teacher forcing of it for this share of samples (0 when the token is off), and the
# grounding query on the environment state's last 6 values (where the instruction's object and destination
# are; 0: off).
ENV_STATE_TOKEN="${ENV_STATE_TOKEN:-1}"
ENV_STATE_TEACHER="${ENV_STATE_TEACHER:-0.5}"
GROUNDING_DIMS="${GROUNDING_DIMS:-6}"
STEPS="${STEPS:-2500}"                      # optimiser steps, the same for all three policies
BATCH="${BATCH:-512}"                       # nano
BASELINE_BATCH="${BASELINE_BATCH:-128}"     # ACT, Diffusion (their steps cost ~60 ms up to this size)
LR="${LR:-5e-4}"                            # nano
INIT="${INIT:-}"                            # nano: continue from this checkpoint (e.g. policies/tabletop_nano)
TRAIN_SECONDS="${TRAIN_SECONDS:-0}"         # > 0: wall-time cap per training (a borrowed machine's budget)
WORKERS="${WORKERS:-14}"                    # recording and evaluation processes
EVAL_EPISODES="${EVAL_EPISODES:-100}"       # per task, nano
BASELINE_EVAL_EPISODES="${BASELINE_EVAL_EPISODES:-10}"  # per task, ACT and Diffusion
BASELINES="${BASELINES:-act diffusion}"
DATA="$WORK/tabletop_expert_${EPISODES}"
VAL="$WORK/tabletop_expert_2_s500k"          # held-out layouts (seeds no training set uses)
mkdir -p "$KEEP" "$WORK/runs"
stamp() { echo "[$(date +%H:%M:%S) +$((SECONDS))s] $*"; }

if [ "$STREAM_WORKERS" -eq 0 ] || [ -n "$BASELINES" ]; then
  stamp "record $EPISODES expert episodes per task -> $DATA"
  if [ ! -f "$DATA/arrays.json" ]; then
    "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task "$EPISODES" \
      --seed 100000 --workers "$WORKERS" --expert-noise-deg "$EXPERT_NOISE_DEG" --root "$DATA" 2>&1 \
      | tr '\r' '\n' | grep -v "recording:" \
      | tee "$KEEP/record.log" || exit 1
  fi
  [ -f "$DATA/arrays.json" ] || { stamp "recording failed"; exit 1; }
fi
[ -f "$VAL/arrays.json" ] || "$PY" -m vla record --source expert --arrays --suite tabletop --episodes-per-task 2 \
  --seed 500000 --workers "$WORKERS" --root "$VAL" 2>&1 | tail -n 1

stamp "train nano ($STEPS steps x $BATCH) + $BASELINES ($STEPS steps x $BASELINE_BATCH)"
common=(--steps "$STEPS" --seed 0 --max-seconds "$TRAIN_SECONDS")
nano_data=(--dataset "$DATA")
objects_token=()
[ "$ENV_STATE_TOKEN" = 1 ] && objects_token=(--environment-state-token)
if [ "$STREAM_WORKERS" -gt 0 ]; then
  nano_data=(--stream-expert tabletop --stream-workers "$STREAM_WORKERS" --stream-frames "$STREAM_FRAMES" \
    --stream-start-frames 20000 --stream-noise-deg "$EXPERT_NOISE_DEG")
fi
"$PY" -m vla train --policy vla --preset nano --out "$WORK/runs/nano" "${nano_data[@]}" "${common[@]}" \
  --batch-size "$BATCH" \
  --lr "$LR" --warmup-steps 300 --save-every 500 --log-every 100 --val-dataset "$VAL" \
  --state-noise "$STATE_NOISE" --state-dropout "$STATE_DROPOUT" \
  --environment-state-weight "$ENV_STATE_WEIGHT" --shift-px "$SHIFT_PX" --grounding-dims "$GROUNDING_DIMS" \
  --environment-state-teacher "$ENV_STATE_TEACHER" "${objects_token[@]}" \
  ${INIT:+--init "$INIT" --no-freeze-vision} 2>&1 | tr '\r' '\n' \
  | awk 'NR % 300 == 1 || !/training:/' > "$KEEP/train_nano.log" &
pids=($!)
for kind in $BASELINES; do
  "$PY" -m vla train --policy "$kind" --out "$WORK/runs/$kind" --dataset "$DATA" "${common[@]}" \
    --batch-size "$BASELINE_BATCH" \
    --save-every 1000 --log-every 250 > "$KEEP/train_$kind.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
stamp "training done"; tail -n 3 "$KEEP"/train_*.log

bash bench/gpu/keep_checkpoint.sh "$WORK/runs/nano/checkpoints/last" "$KEEP/nano_checkpoint"
cp -r "$WORK/runs/nano/tensorboard" "$KEEP/nano_tensorboard"
for kind in $BASELINES; do cp "$WORK/runs/$kind/training_summary.json" "$KEEP/train_$kind.json"; done

evaluate() {  # name policy episodes instructions
  stamp "evaluate $1 ($4 instructions, $3 episodes per task)"
  "$PY" -m vla eval --policy "$2" --suite tabletop --episodes-per-task "$3" --workers "$WORKERS" \
    --instructions "$4" --no-video --out "$WORK/results/$1" 2>&1 | tr '\r' '\n' | grep -v "%|" | tail -n 14
  cp "$WORK/results/$1/eval_info.json" "$KEEP/eval_$1.json" || stamp "no eval_info for $1"
}
# Baselines first: their weights (0.2 and 1.1 GB) cannot leave a borrowed machine, while the nano
# checkpoint (kept above) can be evaluated on a CPU afterwards if the time runs out.
for kind in $BASELINES; do
  evaluate "${kind}_train" "$WORK/runs/$kind/checkpoints/last" "$BASELINE_EVAL_EPISODES" train
done
evaluate nano_train "$WORK/runs/nano/checkpoints/last" "$EVAL_EPISODES" train
evaluate nano_heldout "$WORK/runs/nano/checkpoints/last" "$EVAL_EPISODES" heldout
stamp "done"
