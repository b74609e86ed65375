"""Training samples from a LeRobot v3 dataset: frames, state, an action chunk and the instruction.

Chunks come from `LeRobotDataset` with `delta_timestamps` (action at t, t + 1/fps, ...), with
`action_is_pad` marking steps past the episode's end. Video decoding, not the model, bounds training
speed for a 7M-parameter policy, so `cache_in_memory` decodes every frame once (uint8, 2 x 128 x 128 x 3
= 98 KB a frame) and later epochs read memory only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from vla.data import VIDEO_BACKEND
from vla.models.configuration_vla import VLAConfig
from vla.models.normalization import Normalization


@dataclass
class ChunkSample:
    images: torch.Tensor  # (N, 3, H, W) uint8
    state: torch.Tensor  # (S,) float32, normalised
    actions: torch.Tensor  # (T, A) float32, normalised
    action_is_pad: torch.Tensor  # (T,) bool
    task: str


def open_lerobot_dataset(root: Path, config: VLAConfig):
    """The dataset with action chunks of `config.chunk_length` through delta_timestamps."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root)
    if not (root / "meta" / "info.json").is_file():
        raise FileNotFoundError(f"--dataset {root}: not a LeRobot dataset (no meta/info.json)")
    probe = LeRobotDataset(repo_id=f"local/{root.name}", root=root, video_backend=VIDEO_BACKEND)
    fps = probe.fps
    missing = [
        f"observation.images.{c}" for c in config.cameras if f"observation.images.{c}" not in probe.features
    ]
    if missing:
        raise KeyError(f"--dataset {root}: no feature {missing}; it has {sorted(probe.features)}")
    delta = {"action": [i / fps for i in range(config.chunk_length)]}
    return LeRobotDataset(
        repo_id=f"local/{root.name}", root=root, video_backend=VIDEO_BACKEND, delta_timestamps=delta
    )


class ChunkDataset(Dataset):
    """Normalised chunks for the policy, optionally decoded once into memory."""

    def __init__(
        self,
        lerobot_dataset,
        config: VLAConfig,
        normalization: Normalization,
        cache_in_memory: bool = True,
        num_workers: int = 0,
    ):
        self.source = lerobot_dataset
        self.config = config
        self.normalization = normalization
        self._cache: list[ChunkSample] | None = None
        if cache_in_memory:
            loader = DataLoader(_RawView(self), batch_size=None, shuffle=False, num_workers=num_workers)
            self._cache = list(loader)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> ChunkSample:
        if self._cache is not None:
            return self._cache[index]
        return self.read(index)

    def read(self, index: int) -> ChunkSample:
        item = self.source[index]
        images = torch.stack(
            [
                (item[f"observation.images.{camera}"] * 255.0).round().to(torch.uint8)
                for camera in self.config.cameras
            ]
        )
        state = self.normalization.state.normalize(item["observation.state"].numpy())
        actions = self.normalization.action.normalize(item["action"].numpy())
        return ChunkSample(
            images,
            torch.from_numpy(state),
            torch.from_numpy(actions),
            item["action_is_pad"].bool(),
            item["task"],
        )


class _RawView(Dataset):
    """Reads through `ChunkDataset.read` (lets a DataLoader's workers decode in parallel)."""

    def __init__(self, chunks: ChunkDataset):
        self.chunks = chunks

    def __len__(self) -> int:
        return len(self.chunks)

    def __getitem__(self, index: int) -> ChunkSample:
        return self.chunks.read(index)


def collate(samples: list[ChunkSample]) -> dict:
    return {
        "images": torch.stack([s.images for s in samples]),  # (B, N, 3, H, W) uint8
        "state": torch.stack([s.state for s in samples]),
        "actions": torch.stack([s.actions for s in samples]),
        "action_is_pad": torch.stack([s.action_is_pad for s in samples]),
        "task": [s.task for s in samples],
    }


def dataset_normalization(lerobot_dataset) -> Normalization:
    stats = {k: {s: np.asarray(v) for s, v in d.items()} for k, d in lerobot_dataset.meta.stats.items()}
    return Normalization.from_lerobot_stats(stats)
