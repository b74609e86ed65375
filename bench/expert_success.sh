#!/usr/bin/env bash
# Scripted-expert success over 50 seeded episodes per task (seeds 0..49), both cores.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results/bench
.venv/bin/vla sim expert --suite tabletop --episodes "${EPISODES:-50}" --workers 2 --json results/bench/expert_success.json
