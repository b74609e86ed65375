#!/usr/bin/env bash
# Expert demonstrations of every tabletop task as a LeRobot v3 dataset.
# Layout seeds start at 100000 (evaluation uses 0, 1, 2, ...). EPISODES per task (default 100).
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES="${EPISODES:-100}"
ROOT="${ROOT:-datasets/tabletop_expert_${EPISODES}}"
.venv/bin/vla record --source expert --suite tabletop --episodes-per-task "$EPISODES" --seed 100000 --root "$ROOT"
.venv/bin/vla data check "$ROOT"
