#!/usr/bin/env bash
# The radial-grasp expert against the face-aligned one it replaced (51f9fac), arm-joint targets perturbed
# (bench/expert_tolerance.py), side by side: how much accuracy each grasp asks of a policy. The old expert
# runs from a temporary worktree with PYTHONPATH pointing at it; without that, a script under bench/ imports
# this checkout's `sim` through the editable install. ~4 min each on a 2-core CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
EPISODES="${EPISODES:-12}"  # per task
FLAGS=(--workers 2 --episodes-per-task "$EPISODES" --bias 2 --noise 3)
PY="$PWD/.venv/bin/python"
worktree="$(mktemp -d)/face_aligned"
git worktree add -q --detach "$worktree" 51f9fac
trap 'git worktree remove --force "$worktree"' EXIT
mkdir -p results/bench
(cd "$worktree" && PYTHONPATH="$worktree" MUJOCO_GL=egl "$PY" bench/expert_tolerance.py "${FLAGS[@]}" \
  --json "$OLDPWD/results/bench/expert_tolerance_face_aligned.json")
MUJOCO_GL=egl "$PY" bench/expert_tolerance.py "${FLAGS[@]}" --json results/bench/expert_tolerance_radial.json
