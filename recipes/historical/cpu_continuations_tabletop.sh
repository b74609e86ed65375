#!/usr/bin/env bash
# HISTORICAL: written for the `vla train` command line before 2026-12-06; run it from a checkout of 25ab09a.
# Two continuations of the shipped policy as run on CPU-2 (docs/LOG.md, 2026-12-02 morning), each from
# `nano_arm` step 3,000 (recipes/cpu_oracle_tabletop.sh stage 6) with the oracle recipe's flags, each evaluated
# on the seeds the shipped policy's 25-episode figures use:
#   nano_lowlr   the same stream at a third of the learning rate (1e-4): do more samples help without the
#                restarted schedule's high-rate middle?
#   nano_via     --instruction-via-choice: the language model no longer sees the words or the sentence, so
#                the instruction reaches the actions through the task choice only (held-out paraphrases);
#                the recipe's usual rate (3e-4) over a whole 1,500-step schedule, since the change is larger;
#                its step 1,500 is policies/tabletop_nano since 2026-12-02 (docs/RESULTS.md)
# ~50 + 30 min of training and ~16 min of evaluation on 2 cores. INIT is `nano_arm` step 3,000: from
# recipes/cpu_oracle_tabletop.sh, or the policy shipped before it (`git show bbe106a:policies/tabletop_nano/...`).
# Training streams from a worker process, so a rerun's samples arrive in another order and its figures move by a
# few points (nano_via: 31.5 / 31.5 % on seeds 0-24 the first time, 34.0 / 35.0 % on the same seeds the second).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
RUNS="${RUNS:-runs}"
INIT="${INIT:-$RUNS/nano_arm/checkpoints/step_0003000}"  # see above
EVAL_EPISODES="${EVAL_EPISODES:-25}"   # per task
common=(--preset nano --stream-expert tabletop --stream-workers 1 --stream-frames 30000 \
  --stream-start-frames 2000 --stream-noise-deg 3 --batch-size 32 --save-every 500 --log-every 50 \
  --environment-state-weight 1 --shift-px 0 --precision bf16 --environment-state-token \
  --environment-state-teacher 1.0 --task-choice --arm-frame-features --init "$INIT" --no-freeze-vision \
  --warmup-steps 100)
[ -d "$RUNS/nano_lowlr/checkpoints/step_0003000" ] || "$PY" -m vla train "${common[@]}" --lr 1e-4 \
  --steps 3000 --seed 18 --stream-seed 12000000 --out "$RUNS/nano_lowlr"
[ -d "$RUNS/nano_via/checkpoints/step_0001500" ] || "$PY" -m vla train "${common[@]}" --lr 3e-4 \
  --instruction-via-choice --steps 1500 --seed 19 --stream-seed 13000000 --out "$RUNS/nano_via"
for run in nano_lowlr/checkpoints/step_0003000 nano_via/checkpoints/step_0001500; do
  for instructions in train heldout; do
    "$PY" -m vla eval --policy "$RUNS/$run" --instructions "$instructions" --episodes-per-task "$EVAL_EPISODES" \
      --workers 2 --no-video --out "results/${run%%/*}_$instructions"
  done
done
