#!/usr/bin/env bash
# LeRobot's ACT and Diffusion Policy from scratch (no pretrained weights) on the expert stream that trained
# the shipped policy's GPU stage (recipes/gpu_stream_tabletop.sh: the same stream seed, expert noise and ring),
# for the same number of optimiser steps (2,684), then evaluated by `vla eval` on the same seeds as the
# shipped policy's figures: issue 5's side-by-side table. Every setting is here; docs/RESULTS.md gives the
# figures and the machine.
#
# On the borrowed GPU machine it runs through bench/gpu/device_run.sh. Both baselines train at once, one
# process and one stream of STREAM_WORKERS expert processes each. Diffusion's weights (1.1 GB) cannot leave
# that machine, so the evaluation runs there too; what comes back is eval_info.json files and logs. In two
# calls on the warm machine (the tool stops a command at 600 s; files in /tmp stay while it is warm):
#   RECIPE=recipes/gpu_baselines_tabletop.sh PHASES=train TRAIN_SECONDS=360 RECIPE_SECONDS=450 \
#     BENCH_POLICY=0 bash bench/gpu/device_run.sh
#   RECIPE=recipes/gpu_baselines_tabletop.sh PHASES=eval INSTRUCTIONS=train RECIPE_SECONDS=450 \
#     BENCH_POLICY=0 bash bench/gpu/device_run.sh
# carrying .whl (every wheel of bench/gpu/wheels.txt: the baselines need lerobot and diffusers) and .gl. With
# the shipped policy in the tree that passes the tool's 64 MiB, and these runs do not read it, so move it out
# for the calls (`mv policies/tabletop_nano /tmp/`) and back after (`git checkout policies/tabletop_nano`).
# Dry-run first, here: bench/gpu/dry_run_site.py, then this script at STEPS=2 BATCH=2 STREAM_WORKERS=1
# STREAM_FRAMES=3000 STREAM_START_FRAMES=300 EVAL_EPISODES=1 with PYTHONPATH at the site (~5 min on CPU-2).
#
# Budget (2026-11-27 rates on the H200 with three trainings sharing it, batch 128): ACT ~1,300 samples/s,
# Diffusion ~880, so 2,684 steps take ~265 s and ~390 s; 15 device minutes hold a start (~90 s), the
# training call (~30 s of set-up, ~35 s for the streams' first 20k frames, TRAIN_SECONDS) and the evaluation
# call, so TRAIN_SECONDS=360 may stop Diffusion short of 2,684: training_summary.json says how many steps
# each made, and that is the figure to report beside nano's. Batch 128, not nano's 512: at 512 the same
# steps would take ~1,060 s and ~1,560 s, more than the machine is lent for. Held-out instructions
# (INSTRUCTIONS="train heldout") if the time allows: neither baseline reads the instruction.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
WORK="${WORK:-/tmp/vla_gpu}"                # the runs and their evaluations
KEEP="${KEEP:-$WORK/keep}"                  # what comes back: eval_info files, training summaries, logs
PHASES="${PHASES:-train eval}"
BASELINES="${BASELINES:-act diffusion}"
STEPS="${STEPS:-2684}"                      # nano_stream's GPU stage (docs/RESULTS.md)
BATCH="${BATCH:-128}"
TRAIN_SECONDS="${TRAIN_SECONDS:-0}"         # > 0: wall-time cap per training
STREAM_WORKERS="${STREAM_WORKERS:-7}"       # expert processes per baseline: 14 in all, as nano_stream had
STREAM_FRAMES="${STREAM_FRAMES:-300000}"    # each ring on the GPU: the newest 300k frames, ~29 GB
STREAM_START_FRAMES="${STREAM_START_FRAMES:-20000}"
STREAM_SEED="${STREAM_SEED:-20000000}"      # nano_stream's: the same layouts, in the same order
EVAL_EPISODES="${EVAL_EPISODES:-25}"        # per task, seeds 0.. (the shipped policy's 100 start with these)
INSTRUCTIONS="${INSTRUCTIONS:-train heldout}"
WORKERS="${WORKERS:-14}"                    # evaluation processes
mkdir -p "$KEEP" "$WORK/runs"
stamp() { echo "[$(date +%H:%M:%S) +$((SECONDS))s] $*"; }

if [[ " $PHASES " == *" train "* ]]; then
  stamp "train $BASELINES: $STEPS steps of $BATCH, ${TRAIN_SECONDS} s cap, $STREAM_WORKERS stream workers each"
  pids=()
  for kind in $BASELINES; do
    "$PY" -m vla train --policy.kind "$kind" --run.out "$WORK/runs/$kind" --data.stream.suite tabletop \
      --data.stream.workers "$STREAM_WORKERS" --data.stream.capacity "$STREAM_FRAMES" \
      --data.stream.start_frames "$STREAM_START_FRAMES" --data.stream.noise_deg 3 --data.stream.first_seed "$STREAM_SEED" \
      --optim.steps "$STEPS" --optim.batch_size "$BATCH" --run.seed 0 --optim.max_seconds "$TRAIN_SECONDS" \
      --run.save_every 1000 --run.log_every 250 > "$KEEP/train_$kind.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  stamp "training done"
  for kind in $BASELINES; do
    tail -n 2 "$KEEP/train_$kind.log"
    cp "$WORK/runs/$kind/training_summary.json" "$KEEP/train_$kind.json" || stamp "no summary for $kind"
  done
fi

if [[ " $PHASES " == *" eval "* ]]; then
  for kind in $BASELINES; do
    for instructions in $INSTRUCTIONS; do
      stamp "evaluate $kind ($instructions instructions, $EVAL_EPISODES episodes per task)"
      "$PY" -m vla eval --policy "$WORK/runs/$kind/checkpoints/last" --suite tabletop \
        --episodes-per-task "$EVAL_EPISODES" --workers "$WORKERS" --instructions "$instructions" --no-video \
        --out "$WORK/results/${kind}_$instructions" 2>&1 | tr '\r' '\n' | grep -v "%|" | tail -n 14
      cp "$WORK/results/${kind}_$instructions/eval_info.json" "$KEEP/eval_${kind}_$instructions.json" \
        || stamp "no eval_info for $kind ($instructions)"
    done
  done
fi
stamp "done"
