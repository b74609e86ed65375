#!/usr/bin/env bash
# Teach the shipped policy to say "not in view" on a 2-core CPU (issue 35, item 2): an abstain head trained
# alone on top of policies/tabletop_nano, whose every other weight, and so every action, stays as it was.
#
#  1. expert demonstrations of tabletop_compose's training compositions, half of them absent-object
#     episodes (the instruction names an object the scene lacks; the expert holds still), seeds from
#     800000, as a frame cache;
#  2. `vla train --abstain.only`: the head (vla/models/abstain_head.py) learns from one label per episode,
#     whether the demonstration holds still, read off its actions (vla/training/abstain_labels.py), not
#     from the simulator's object lists: the same run trains on a teleoperated dataset;
#  3. the policy after, on the absent split (touch nothing and abstain within the first second), the
#     training and held-out compositions and the 8-task suite, on the seeds the shipped policy's figures use.
# Figures: results/<NAME>_{absent,train,heldout}_e<episodes per task>/ and results/<NAME>_tabletop_e20/.
# The threshold is vla.contract.ABSTAIN_THRESHOLD (0.5), fixed before any evaluation; nothing here is
# chosen on an evaluation split.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
INIT="${INIT:-policies/tabletop_nano}"
EPISODES="${EPISODES:-2}"            # demonstrations per training task (44 compositions + 44 absent ones)
STEPS="${STEPS:-800}"
LR="${LR:-1e-3}"
EVAL_ABSENT="${EVAL_ABSENT:-3}"      # evaluation episodes per absent-object task (44 tasks)
EVAL_COMPOSE="${EVAL_COMPOSE:-2}"    # per training (44) and held-out (22) composition: seeds 0-1
EVAL_OLD="${EVAL_OLD:-20}"           # per tabletop task (8): seeds 0-19
WORKERS="${WORKERS:-2}"
DATA="datasets/compose_abstain_${EPISODES}"
NAME="${NAME:-abstain_$(basename "$INIT")_s${STEPS}_lr${LR}}"
OUT="runs/$NAME"

evaluate() {  # suite, split, episodes per task, output folder
  [ -f "$4/eval_info.json" ] || "$PY" -m vla eval --policy "$OUT/checkpoints/last" --suite "$1" \
    --split "$2" --episodes-per-task "$3" --workers "$WORKERS" --no-video --out "$4"
}

[ -d "$DATA" ] || "$PY" -m vla record --source expert --suite tabletop_compose --absent-share 0.5 \
  --episodes-per-task "$EPISODES" --seed 800000 --arrays --workers "$WORKERS" --root "$DATA"

[ -f "$OUT/checkpoints/last/model.safetensors" ] || "$PY" -m vla train --data.dataset "$DATA" \
  --policy.init "$INIT" --abstain.weight 1 --abstain.only true --run.out "$OUT" \
  --optim.steps "$STEPS" --optim.lr "$LR" --optim.warmup_steps 50 --optim.batch_size 64 \
  --optim.precision fp32 --run.save_every 500 --run.log_every 50

evaluate tabletop_compose absent "$EVAL_ABSENT" "results/${NAME}_absent_e${EVAL_ABSENT}"
evaluate tabletop train "$EVAL_OLD" "results/${NAME}_tabletop_e${EVAL_OLD}"
evaluate tabletop_compose train "$EVAL_COMPOSE" "results/${NAME}_train_e${EVAL_COMPOSE}"
evaluate tabletop_compose heldout "$EVAL_COMPOSE" "results/${NAME}_heldout_e${EVAL_COMPOSE}"
