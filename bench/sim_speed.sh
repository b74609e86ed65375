#!/usr/bin/env bash
# Simulation speed on this machine: this stack's render settings vs MuJoCo's defaults, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p results/bench
.venv/bin/vla bench sim --steps "${STEPS:-600}" --compare-default --frames-dir docs/images --json results/bench/sim_speed.json
