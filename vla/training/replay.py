"""Replay while fine-tuning: demonstrations of the skills a policy already has, mixed into every batch.

A policy fine-tuned on a new skill's demonstrations alone is trained only on that skill, and drifts away
from the others (catastrophic forgetting). Mixing in demonstrations of the old skills is the usual remedy
(rehearsal; robot-learning fine-tunes such as openpi's and Octo's co-train on the old data mixture).
`--data.replay_share` is the share of each batch drawn from the old skills, whatever the sizes. They come
from one of two places:

- `--data.replay_dataset`: recorded demonstrations (a LeRobot v3 dataset or a frame cache, e.g. `vla
  record --source expert --suite tabletop`). Both are held in memory as one `DatasetArrays` (the new
  frames first), with a sampling probability per frame (`replay_weights`).
- `--data.stream.suite` beside `--data.dataset`: the scripted expert on fresh layouts, rendered while
  training, as the shipped policy was trained (vla/training/stream.py). Why: a fine-tune that learnt
  nothing new (LoRA at lr 1e-4) still lost 8 points of the old tasks while replaying 200 recorded
  demonstrations, where the policy had been trained on thousands of streamed layouts (docs/RESULTS.md,
  issue 38). `StreamReplayBatches` puts the stream's rows after the dataset's in each batch.

Instructions, ranges and environment state are those of the two sources together.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from vla.training.batches import DeviceBatches
from vla.training.frames import DatasetArrays
from vla.training.stream import StreamBatches


def combined(new: DatasetArrays, old: DatasetArrays, new_name: str, old_name: str) -> DatasetArrays:
    """`new` then `old` as one set of arrays, episodes kept apart. The cameras, frame sizes and state and
    action widths must agree (ValueError naming both: `new_name`, `old_name`, e.g. "--data.dataset
    <folder>"); the environment state is kept when both have it under the same names, else dropped."""
    where = f"{old_name} and {new_name}"
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


def stream_replay_rows(batch_size: int, share: float) -> int:
    """Rows of each batch drawn from the stream: `share` of `batch_size`, rounded, and at least one row
    left to each source (ValueError naming the option otherwise)."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"--data.replay_share is a share in (0, 1); got {share}")
    if batch_size < 2:
        raise ValueError(f"replaying the stream needs --optim.batch_size of at least 2; got {batch_size}")
    return min(batch_size - 1, max(1, round(batch_size * share)))


class StreamReplayBatches(StreamBatches):
    """The step loop's loader for `--data.dataset` with the `--data.stream.suite` stream replayed beside
    it: each batch is `dataset_rows`' batch followed by `streamed_rows`' (their batch sizes set the
    share), with the fields of `DeviceBatches` but "index". An epoch is one pass of the dataset's
    batches. As a `StreamBatches`, its stream is closed, checkpointed (`stream_next_job`) and logged as a
    stream alone is."""

    def __init__(self, dataset_rows: DeviceBatches, streamed_rows: StreamBatches):
        stream, ring = streamed_rows.stream, streamed_rows.ring
        super().__init__(stream, ring, streamed_rows.batch_size, len(dataset_rows), seed=0)
        self.generator = streamed_rows.generator
        if (dataset_rows.environment_state is None) != (streamed_rows.ring.environment_state is None):
            raise ValueError(
                f"--data.dataset and the --data.stream.suite {streamed_rows.stream.config.suite} stream: "
                "only one of them has the environment state"
            )
        self.dataset_rows = dataset_rows
        # "task_index" of a streamed row indexes the ring's instructions: they follow the dataset's here
        self.task_offset = len(dataset_rows.tasks)
        self.tasks = list(dataset_rows.tasks) + list(streamed_rows.tasks)

    def __iter__(self) -> Iterator[dict]:
        for rows in self.dataset_rows:
            replayed = self.next_batch()
            replayed["task_index"] = replayed["task_index"] + self.task_offset
            yield {key: torch.cat([rows[key], replayed[key]]) for key in rows if key != "index"}
