#!/usr/bin/env bash
# Scripted-expert success on the tabletop_compose suite, per split and family (docs/results/compose_expert_*.json).
# EPISODES per task (seeds 0..EPISODES-1); absent-object episodes run their whole time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES="${EPISODES:-5}"
WORKERS="${WORKERS:-1}"
for split in train heldout absent; do
  .venv/bin/vla sim expert --suite tabletop_compose --split "$split" --episodes "$EPISODES" --workers "$WORKERS" \
    --json "docs/results/compose_expert_${split}.json"
done
