"""The abstain head's training label, read off the recorded actions: did the demonstration touch nothing?

Why from the actions: a robot owner's LeRobot dataset has images, joint state, actions and a task string,
and nothing that says whether the named object was there. A demonstration of an instruction that names
nothing in view is one where the operator (or the scripted expert, sim/expert.py) leaves the arm where it
is, so "holds still for the whole episode" is the label, and the same rule reads simulated and teleoperated
episodes. Every frame of such an episode is a positive: whatever the arm does later, the instruction
names nothing in view from the first frame on.
"""

from __future__ import annotations

import numpy as np

# Largest departure of any action value from the episode's first action that still counts as holding:
# so101_follower units, degrees for the arm and percent for the gripper. The expert's absent-object
# episodes command one pose throughout (0 departure); every manipulation moves by tens of degrees.
HOLD_TOLERANCE = 2.0


def episode_holds_still(actions: np.ndarray) -> bool:
    """(L, A) actions in dataset units -> whether no value departs more than HOLD_TOLERANCE from the first."""
    actions = np.asarray(actions, np.float64)
    return bool(np.abs(actions - actions[:1]).max(initial=0.0) <= HOLD_TOLERANCE)


def frames_holding_still(
    actions: np.ndarray, episode_start: np.ndarray, episode_end: np.ndarray
) -> np.ndarray:
    """(N,) bool per frame: whether the frame's episode holds still. `actions` (N, A) in dataset units,
    `episode_start`/`episode_end` (N,) each frame's episode bounds (DatasetArrays' fields)."""
    labels = np.zeros(len(actions), bool)
    for start, end in sorted(set(zip(episode_start.tolist(), episode_end.tolist(), strict=True))):
        labels[start:end] = episode_holds_still(actions[start:end])
    return labels
