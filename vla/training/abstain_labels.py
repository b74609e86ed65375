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
# An episode that holds still trains on its first HELD_FRAMES_TRAINED frames only: 1 s at the 30 fps the
# simulator and SO-101 recordings use. Its frames all show the arm at the reset pose, where an episode that
# acts spends about a second before it moves away. Kept whole (the expert's absent-object episodes run 338
# frames, its compose manipulations 153), they outnumbered the reset-pose frames of acting episodes by
# about ten to one, and the head learnt that the reset pose itself means "refuse": it refused half the
# 8-task episodes in their first second (docs/LOG.md, 2026-12-06). Cut to a second, both labels are as
# common at the reset pose, and the scene against the instruction is all that tells them apart.
HELD_FRAMES_TRAINED = 30


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


def frames_trained(holds_still: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
    """(N,) bool per frame: whether training draws it. Every frame of an episode that acts, the first
    HELD_FRAMES_TRAINED of one that holds still. `holds_still` (N,) as `frames_holding_still` gives,
    `episode_start` (N,) each frame's episode start."""
    offset = np.arange(len(holds_still)) - np.asarray(episode_start)
    return ~np.asarray(holds_still, bool) | (offset < HELD_FRAMES_TRAINED)


def trained_episode(episode: dict) -> dict:
    """A streamed episode {"state": (L, S), "action": (L, A), "images": {key: (L, H, W, 3)}, ...} as training
    keeps it: whole when it acts, its first HELD_FRAMES_TRAINED frames when it holds still."""
    if not episode_holds_still(episode["action"]) or len(episode["action"]) <= HELD_FRAMES_TRAINED:
        return episode
    cut = dict(episode)
    for key, value in episode.items():
        if key == "images":
            cut[key] = {camera: frames[:HELD_FRAMES_TRAINED] for camera, frames in value.items()}
        elif isinstance(value, np.ndarray) and len(value) == len(episode["action"]):
            cut[key] = value[:HELD_FRAMES_TRAINED]
    return cut
