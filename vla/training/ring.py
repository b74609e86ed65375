"""A fixed-size ring of episodes on the training device: new episodes overwrite the oldest.

`vla train --data.stream.suite` keeps the episodes rendered while it trains here (vla/training/stream.py).
Storage is allocated once (`capacity` frames, 98 KB each for two 128 x 128 cameras), episodes are written
contiguously at a cursor that wraps to 0 when an episode does not fit before the end, and every episode
the write overlaps is dropped whole, so a chunk never reads a frame of another episode. Batches are
uniform over the frames of the episodes held, with the same fields and chunk semantics as
`DeviceBatches` (vla/training/batches.py).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from vla.models.normalization import Normalization
from vla.training.abstain_labels import episode_holds_still, trained_episode
from vla.training.batches import gather_rows


class FrameRing:
    """Episodes {"images": {key: (L, H, W, 3) uint8}, "state": (L, S), "action": (L, A), "task": str}, plus
    "environment_state": (L, E) when the ring was made with `environment_dim`."""

    def __init__(
        self,
        capacity: int,
        camera_keys: list[str],
        image_shape: tuple[int, int, int],  # (H, W, 3)
        state_dim: int,
        action_dim: int,
        chunk_length: int,
        tasks: list[str],
        normalization: Normalization | None,  # None: state and actions stay in dataset units
        device: torch.device,
        environment_dim: int = 0,  # > 0: episodes carry "environment_state" (L, E), kept per frame
    ):
        self.capacity, self.camera_keys, self.chunk_length = capacity, camera_keys, chunk_length
        self.tasks = list(tasks)  # the instructions "task_index" indexes into (BatchEncoder's `tasks`)
        self._task_lookup = {task: i for i, task in enumerate(self.tasks)}
        self.normalization, self.device = normalization, device
        self.frames = [
            torch.zeros((capacity, *image_shape), dtype=torch.uint8, device=device) for _ in camera_keys
        ]
        self.state = torch.zeros((capacity, state_dim), device=device)
        self.action = torch.zeros((capacity, action_dim), device=device)
        self.chunk_index = torch.zeros((capacity, chunk_length), dtype=torch.long, device=device)
        self.is_pad = torch.zeros((capacity, chunk_length), dtype=torch.bool, device=device)
        self.task_index = torch.zeros(capacity, dtype=torch.long, device=device)
        self.holds_still = torch.zeros(capacity, dtype=torch.bool, device=device)  # the abstain label
        self.environment_state = (
            torch.zeros((capacity, environment_dim), device=device) if environment_dim else None
        )
        self.episodes: deque[tuple[int, int]] = (
            deque()
        )  # [start, end) slots of the episodes held, oldest first
        self.cursor = 0
        self.episodes_added = 0
        self.frames_added = 0
        self._is_held = np.zeros(capacity, bool)  # slots of the episodes held
        self._held: torch.Tensor | None = None  # their indices on the device, rebuilt after adds

    def __len__(self) -> int:
        """Frames held."""
        return len(self.held())

    def held(self) -> torch.Tensor:
        if self._held is None:
            self._held = torch.from_numpy(np.flatnonzero(self._is_held)).to(self.device)
        return self._held

    def add(self, episode: dict) -> None:
        episode = trained_episode(episode)  # one that holds still: its first second only
        length = len(episode["state"])
        if length > self.capacity:
            raise ValueError(f"an episode of {length} frames does not fit a ring of {self.capacity}")
        task = episode["task"]
        if task not in self._task_lookup:
            raise KeyError(f"episode instruction {task!r} is not one of the ring's {len(self.tasks)} tasks")
        if self.cursor + length > self.capacity:
            self.cursor = 0
        start, end = self.cursor, self.cursor + length
        for s, e in [(s, e) for s, e in self.episodes if s < end and e > start]:  # overwritten: dropped whole
            self.episodes.remove((s, e))
            self._is_held[s:e] = False
        for key, frames in zip(self.camera_keys, self.frames, strict=True):
            frames[start:end] = torch.from_numpy(np.ascontiguousarray(episode["images"][key])).to(self.device)
        state, action = episode["state"], episode["action"]
        if self.normalization is not None:
            state = self.normalization.state.normalize(state)
            action = self.normalization.action.normalize(action)
        self.state[start:end] = self._tensor(state)
        self.action[start:end] = self._tensor(action)
        steps = np.arange(length)[:, None] + np.arange(self.chunk_length)[None, :]  # (L, T)
        self.chunk_index[start:end] = self._tensor(start + np.minimum(steps, length - 1))
        self.is_pad[start:end] = self._tensor(steps >= length)
        self.task_index[start:end] = self._task_lookup[task]
        self.holds_still[start:end] = episode_holds_still(episode["action"])
        if self.environment_state is not None:
            environment = episode["environment_state"]
            if self.normalization is not None and self.normalization.environment_state is not None:
                environment = self.normalization.environment_state.normalize(environment)
            self.environment_state[start:end] = self._tensor(environment)
        self.episodes.append((start, end))
        self.cursor = end
        self.episodes_added += 1
        self.frames_added += length
        self._is_held[start:end] = True
        self._held = None

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(array)).to(self.device)

    def sample(self, batch_size: int, generator: torch.Generator) -> dict:
        """A batch of `batch_size` frames drawn uniformly (with replacement) from the episodes held."""
        if not len(self):
            raise RuntimeError("the ring holds no episodes yet")
        pick = torch.randint(len(self), (batch_size,), generator=generator).to(self.device)
        return gather_rows(self, self.held()[pick])
