#!/usr/bin/env bash
# Teach the shipped policy to say "not in view" on a 2-core CPU (issue 35, item 2): an abstain head trained
# alone on top of policies/tabletop_nano, whose every other weight, and so every action, stays as it was.
#
#  1. `vla train --abstain.only` on the expert stream of tabletop_compose's training compositions, half of
#     them absent-object episodes (the instruction names an object the scene lacks; the expert holds
#     still), a new layout every episode (seeds from 1,000,000, above every evaluated seed), for
#     TRAIN_SECONDS. The head (vla/models/abstain_head.py) learns from one label per episode, whether the
#     demonstration holds still, read off its actions (vla/training/abstain_labels.py), not from the
#     simulator's object lists: the same run trains on a teleoperated dataset (--data.dataset). An
#     episode that holds still trains on its first second only, as many reset-pose frames as an acting one;
#  2. the policy after, first on the 8-task suite (false refusals), then on the absent split (touch nothing
#     and abstain within the first second) and the training and held-out compositions, on the seeds the
#     shipped policy's figures use.
# Figures: results/<NAME>_tabletop_e20/ and results/<NAME>_{absent,train,heldout}_e<episodes per task>/.
# The threshold is vla.contract.ABSTAIN_THRESHOLD (0.5), fixed before any evaluation; nothing here is
# chosen on an evaluation split. The run of 2026-12-06 afternoon (800 steps on 176 recorded episodes, held
# episodes whole) is this recipe at 6d21d99.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
INIT="${INIT:-policies/tabletop_nano}"
TRAIN_SECONDS="${TRAIN_SECONDS:-1200}"
LR="${LR:-1e-3}"
STREAM_WORKERS="${STREAM_WORKERS:-1}"  # expert processes rendering beside training (2 cores in all)
EVAL_ABSENT="${EVAL_ABSENT:-3}"      # evaluation episodes per absent-object task (44 tasks)
EVAL_COMPOSE="${EVAL_COMPOSE:-2}"    # per training (44) and held-out (22) composition: seeds 0-1
EVAL_OLD="${EVAL_OLD:-20}"           # per tabletop task (8): seeds 0-19
WORKERS="${WORKERS:-2}"
NAME="${NAME:-abstain_stream_$(basename "$INIT")_t${TRAIN_SECONDS}_lr${LR}}"
OUT="runs/$NAME"

evaluate() {  # suite, split, episodes per task, output folder; --reuse keeps one of the same checkpoint
  "$PY" -m vla eval --policy "$OUT/checkpoints/last" --suite "$1" --split "$2" --episodes-per-task "$3" \
    --workers "$WORKERS" --no-video --out "$4" --reuse
}

[ -f "$OUT/checkpoints/last/model.safetensors" ] || "$PY" -m vla train --data.stream.suite tabletop_compose \
  --data.stream.absent_share 0.5 --data.stream.workers "$STREAM_WORKERS" --policy.init "$INIT" \
  --abstain.weight 1 --abstain.only true --run.out "$OUT" --optim.schedule time \
  --optim.max_seconds "$TRAIN_SECONDS" --optim.steps 100000 --optim.lr "$LR" --optim.warmup_steps 50 \
  --optim.batch_size 64 --optim.precision fp32 --run.save_every 500 --run.log_every 50

evaluate tabletop train "$EVAL_OLD" "results/${NAME}_tabletop_e${EVAL_OLD}"
evaluate tabletop_compose absent "$EVAL_ABSENT" "results/${NAME}_absent_e${EVAL_ABSENT}"
evaluate tabletop_compose train "$EVAL_COMPOSE" "results/${NAME}_train_e${EVAL_COMPOSE}"
evaluate tabletop_compose heldout "$EVAL_COMPOSE" "results/${NAME}_heldout_e${EVAL_COMPOSE}"
