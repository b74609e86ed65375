"""Shuffled training batches gathered on the training device from a dataset held there whole.

The per-sample `DataLoader` path costs Python per item and a host-to-device copy per batch, and each copy
waits for the GPU's queue to drain; for a 7M-parameter policy that, not the GPU, sets the pace. Frames
held on the device (98 KB a frame: 100k frames is ~10 GB, which a data-centre GPU holds easily) make a
batch one gather, and the step never waits on the host. On the CPU the same code runs on host tensors.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from vla.models.normalization import Normalization
from vla.training.abstain_labels import frames_holding_still, frames_trained
from vla.training.frames import DatasetArrays


class DeviceBatches:
    """Epochs of shuffled batches (last partial batch dropped) of frames, state and action chunks.

    Each batch: "images" (B, N, 3, H, W) uint8, "state" (B, S) and "actions" (B, T, A) float32
    (normalised by `normalization`, or in dataset units without it), "action_is_pad" (B, T) bool,
    "task_index" (B,) int64 into `self.tasks`, "index" (B,) the frames', and "environment_state" (B, E)
    (normalised like the state) when the arrays have it. Chunks follow `DatasetArrays.chunk_indices`.
    """

    def __init__(
        self,
        arrays: DatasetArrays,
        camera_keys: list[str],
        chunk_length: int,
        device: torch.device,
        batch_size: int,
        seed: int = 0,
        normalization: Normalization | None = None,
        weights: np.ndarray | None = None,
    ):
        """`weights` (F,): each frame's probability of being drawn (replay, vla/training/replay.py); batches
        then draw with replacement. None: every epoch is a shuffle of all frames. Frames past the first
        second of an episode that holds still are never drawn (vla/training/abstain_labels.py)."""
        self.device, self.batch_size = device, batch_size
        self.size = len(arrays.state)
        if self.size < batch_size:
            raise ValueError(f"the dataset has {self.size} frames, fewer than one batch of {batch_size}")
        state, action = arrays.state, arrays.action
        if normalization is not None:
            state, action = normalization.state.normalize(state), normalization.action.normalize(action)
        chunk_index, is_pad = arrays.chunk_indices(chunk_length)
        self.frames = [self._tensor(arrays.frames[key]) for key in camera_keys]  # N x (F, H, W, 3) uint8
        self.state = self._tensor(state)  # (F, S)
        self.action = self._tensor(action)  # (F, A)
        self.chunk_index = self._tensor(chunk_index)  # (F, T) frame index of each chunk step
        self.is_pad = self._tensor(is_pad)  # (F, T)
        self.environment_state = None  # (F, E)
        if arrays.environment_state is not None:
            environment = arrays.environment_state
            if normalization is not None and normalization.environment_state is not None:
                environment = normalization.environment_state.normalize(environment)
            self.environment_state = self._tensor(environment)
        self.tasks = sorted(set(arrays.tasks))
        lookup = {task: i for i, task in enumerate(self.tasks)}
        self.task_index = self._tensor(np.array([lookup[t] for t in arrays.tasks], np.int64))
        holds_still = frames_holding_still(arrays.action, arrays.episode_start, arrays.episode_end)
        self.holds_still = self._tensor(holds_still)  # (F,) bool: the abstain head's label
        self.generator = torch.Generator().manual_seed(seed)
        trained = frames_trained(holds_still, arrays.episode_start)  # held episodes: their first second
        if not trained.all():
            weights = trained.astype(np.float64) * (1.0 if weights is None else weights)
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        # np.array copies a memory-mapped frame cache into RAM once (and makes it writable for torch).
        return torch.from_numpy(np.array(array)).to(self.device)

    def __len__(self) -> int:
        return self.size // self.batch_size

    def __iter__(self) -> Iterator[dict]:
        if self.weights is None:
            order = torch.randperm(self.size, generator=self.generator)
        else:
            draws = len(self) * self.batch_size
            order = torch.multinomial(self.weights, draws, replacement=True, generator=self.generator)
        order = order.to(self.device)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield self.gather(order[start : start + self.batch_size])

    def gather(self, index: torch.Tensor) -> dict:
        return gather_rows(self, index)


def gather_rows(storage: DeviceBatches, index: torch.Tensor) -> dict:
    """The batch of frames `index` (B,) from per-frame device tensors: `frames` (a list, one (F, H, W, 3)
    per camera), `state`, `action`, `chunk_index`, `is_pad`, `task_index`, `holds_still`, and
    `environment_state` (or None). `DeviceBatches` holds them, and so does the streaming ring
    (vla/training/ring.py)."""
    images = torch.stack([frames[index] for frames in storage.frames], dim=1)  # (B, N, H, W, 3)
    extra = {}
    if storage.environment_state is not None:
        extra["environment_state"] = storage.environment_state[index]  # (B, E)
    return extra | {
        "images": images.permute(0, 1, 4, 2, 3),
        "state": storage.state[index],
        "actions": storage.action[storage.chunk_index[index]],
        "action_is_pad": storage.is_pad[index],
        "task_index": storage.task_index[index],
        "holds_still": storage.holds_still[index],
        "index": index,
    }
