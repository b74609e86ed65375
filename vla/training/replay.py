"""Replay while fine-tuning: demonstrations of the skills a policy already has, mixed into every batch.

A policy fine-tuned on a new skill's demonstrations alone is trained only on that skill, and drifts away
from the others (catastrophic forgetting). Mixing in demonstrations of the old skills is the usual remedy
(rehearsal; robot-learning fine-tunes such as openpi's and Octo's co-train on the old data mixture).
`--data.replay_dataset` names those demonstrations (a LeRobot v3 dataset or a frame cache, e.g. `vla
record --source expert --suite tabletop`), and `--data.replay_share` the share of each batch drawn from it,
whatever the two datasets' sizes.

Both are held in memory as one `DatasetArrays` (the new frames first), with a sampling probability per
frame (`replay_weights`); their instructions, ranges and environment state are the union's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vla.training.frames import DatasetArrays


def combined(new: DatasetArrays, old: DatasetArrays, new_root: Path, old_root: Path) -> DatasetArrays:
    """`new` then `old` as one set of arrays, episodes kept apart. The cameras, frame sizes and state and
    action widths must agree (ValueError naming both folders); the environment state is kept when both
    have it under the same names, else dropped."""
    where = f"--data.replay_dataset {old_root} and --data.dataset {new_root}"
    if sorted(new.frames) != sorted(old.frames):
        raise ValueError(f"{where} have different cameras: {sorted(old.frames)} and {sorted(new.frames)}")
    for key in new.frames:
        if new.frames[key].shape[1:] != old.frames[key].shape[1:]:
            raise ValueError(
                f"{where}: {key} frames are {old.frames[key].shape[1:]} and {new.frames[key].shape[1:]}"
            )
    for what in ("state", "action"):
        widths = getattr(old, what).shape[1], getattr(new, what).shape[1]
        if widths[0] != widths[1]:
            raise ValueError(f"{where}: {what} has {widths[0]} and {widths[1]} values per frame")
    offset = len(new.state)
    environment, names = None, None
    if (
        new.environment_state is not None
        and old.environment_state is not None
        and new.environment_state_names == old.environment_state_names
    ):
        environment = np.concatenate([new.environment_state, old.environment_state])
        names = new.environment_state_names
    return DatasetArrays(
        state=np.concatenate([new.state, old.state]),
        action=np.concatenate([new.action, old.action]),
        episode_start=np.concatenate([new.episode_start, old.episode_start + offset]),
        episode_end=np.concatenate([new.episode_end, old.episode_end + offset]),
        tasks=list(new.tasks) + list(old.tasks),
        frames={key: np.concatenate([new.frames[key], old.frames[key]]) for key in new.frames},
        environment_state=environment,
        environment_state_names=names,
    )


def replay_weights(new_frames: int, old_frames: int, share: float) -> np.ndarray:
    """(new_frames + old_frames,) float64 sampling probabilities summing to 1: the replayed frames (last)
    share `share` equally, the new ones the rest."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"--data.replay_share is a share in (0, 1); got {share}")
    return np.concatenate(
        [np.full(new_frames, (1.0 - share) / new_frames), np.full(old_frames, share / old_frames)]
    )
