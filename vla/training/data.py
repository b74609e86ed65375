"""Training samples from a LeRobot v3 dataset: frames, state, an action chunk and the instruction.

Chunks follow `LeRobotDataset`'s `delta_timestamps` (action at t, t + 1/fps, ...), with `action_is_pad`
marking steps past the episode's end. Video decoding, not the model, bounds training speed for a
7M-parameter policy, so `cache_in_memory` decodes every frame once, sequentially (uint8,
2 x 128 x 128 x 3 = 98 KB a frame; see frames.py) and every epoch reads memory only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from vla.contract import ACTION, ENVIRONMENT_STATE, OBS_STATE, camera_key
from vla.data import VIDEO_BACKEND
from vla.models.configuration_vla import VLAConfig
from vla.models.normalization import Normalization
from vla.training.abstain_labels import frames_holding_still, frames_trained
from vla.training.frames import DatasetArrays, is_arrays_folder, load_arrays, open_arrays


@dataclass
class ChunkSample:
    images: torch.Tensor  # (N, 3, H, W) uint8
    state: torch.Tensor  # (S,) float32, normalised
    actions: torch.Tensor  # (T, A) float32, normalised
    action_is_pad: torch.Tensor  # (T,) bool
    task: str
    environment_state: torch.Tensor | None = None  # (E,) float32, normalised, when the data has it
    holds_still: bool | None = None  # the abstain label (vla/training/abstain_labels.py); None: not read


# What `--data.dataset` takes besides a LeRobot dataset, for the error a wrong path gets.
FRAME_CACHE = "a frame cache (a folder holding arrays.json, as `vla record --arrays` writes)"


def open_training_source(
    root: Path, config: VLAConfig, option: str = "--data.dataset"
) -> tuple[object | None, DatasetArrays | None]:
    """(LeRobotDataset, None) for a LeRobot v3 dataset; (None, frame cache) for a `record --arrays` folder.
    Any other path raises one line naming `option` and saying whether it does not exist or is neither
    (vla.data.check)."""
    if is_arrays_folder(root):
        return None, open_arrays(root, [camera_key(c) for c in config.cameras])
    return open_lerobot_dataset(root, config, option), None


def open_lerobot_dataset(root: Path, config: VLAConfig, option: str = "--data.dataset"):
    """The dataset with action chunks of `config.chunk_length` through delta_timestamps."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from vla.data.check import require_dataset_root

    root = require_dataset_root(Path(root), option, also_accepted=FRAME_CACHE)
    probe = LeRobotDataset(repo_id=f"local/{root.name}", root=root, video_backend=VIDEO_BACKEND)
    fps = probe.fps
    missing = [camera_key(c) for c in config.cameras if camera_key(c) not in probe.features]
    if missing:
        raise KeyError(f"{option} {root}: no feature {missing}; it has {sorted(probe.features)}")
    delta = {ACTION: [i / fps for i in range(config.chunk_length)]}
    return LeRobotDataset(
        repo_id=f"local/{root.name}", root=root, video_backend=VIDEO_BACKEND, delta_timestamps=delta
    )


class ChunkDataset(Dataset):
    """Normalised chunks for the policy: from memory (`cache_in_memory`, frames decoded once), or read
    through `LeRobotDataset.__getitem__` with its delta_timestamps on every access."""

    def __init__(
        self,
        lerobot_dataset,
        config: VLAConfig,
        normalization: Normalization,
        cache_in_memory: bool = True,
        arrays: DatasetArrays | None = None,
    ):
        """From a LeRobotDataset (decoded into memory when `cache_in_memory`), or from `arrays` already
        in memory (a frame cache; `lerobot_dataset` is then None)."""
        self.source = lerobot_dataset
        self.config = config
        self.normalization = normalization
        self.camera_keys = [camera_key(camera) for camera in config.cameras]
        self.arrays = arrays
        self.trained = None  # (F,) bool: the frames training draws (vla/training/abstain_labels.py)
        if arrays is None and cache_in_memory:
            self.arrays = load_arrays(lerobot_dataset, self.camera_keys)
        if self.arrays is not None:
            self._chunks, self._is_pad = self.arrays.chunk_indices(config.chunk_length)
            self._state = normalization.state.normalize(self.arrays.state)
            self._action = normalization.action.normalize(self.arrays.action)
            self._environment = None
            if self.arrays.environment_state is not None and normalization.environment_state is not None:
                self._environment = normalization.environment_state.normalize(self.arrays.environment_state)
            arrays = self.arrays
            self._holds_still = frames_holding_still(arrays.action, arrays.episode_start, arrays.episode_end)
            self.trained = frames_trained(self._holds_still, arrays.episode_start)  # (F,) bool, drawn

    def __len__(self) -> int:
        return len(self.arrays.state) if self.arrays is not None else len(self.source)

    def __getitem__(self, index: int) -> ChunkSample:
        if self.arrays is None:
            return self.read(index)
        images = np.stack([self.arrays.frames[key][index] for key in self.camera_keys])  # (N, H, W, 3)
        return ChunkSample(
            torch.from_numpy(images).permute(0, 3, 1, 2),
            torch.from_numpy(self._state[index]),
            torch.from_numpy(self._action[self._chunks[index]]),
            torch.from_numpy(self._is_pad[index]),
            self.arrays.tasks[index],
            torch.from_numpy(self._environment[index]) if self._environment is not None else None,
            bool(self._holds_still[index]),
        )

    def read(self, index: int) -> ChunkSample:
        """One sample through LeRobotDataset (video seek and decode per access)."""
        item = self.source[index]
        images = torch.stack([(item[key] * 255.0).round().to(torch.uint8) for key in self.camera_keys])
        state = self.normalization.state.normalize(item[OBS_STATE].numpy())
        actions = self.normalization.action.normalize(item[ACTION].numpy())
        environment = None
        if ENVIRONMENT_STATE in item and self.normalization.environment_state is not None:
            environment = torch.from_numpy(
                self.normalization.environment_state.normalize(item[ENVIRONMENT_STATE].numpy())
            )
        return ChunkSample(
            images,
            torch.from_numpy(state),
            torch.from_numpy(actions),
            item["action_is_pad"].bool(),
            item["task"],
            environment,
        )


def collate(samples: list[ChunkSample]) -> dict:
    extra = {}
    if all(s.environment_state is not None for s in samples):
        extra["environment_state"] = torch.stack([s.environment_state for s in samples])  # (B, E)
    if all(s.holds_still is not None for s in samples):
        extra["holds_still"] = torch.tensor([s.holds_still for s in samples])  # (B,) bool
    return extra | {
        "images": torch.stack([s.images for s in samples]),  # (B, N, 3, H, W) uint8
        "state": torch.stack([s.state for s in samples]),
        "actions": torch.stack([s.actions for s in samples]),
        "action_is_pad": torch.stack([s.action_is_pad for s in samples]),
        "task": [s.task for s in samples],
    }


def dataset_normalization(lerobot_dataset) -> Normalization:
    stats = {k: {s: np.asarray(v) for s, v in d.items()} for k, d in lerobot_dataset.meta.stats.items()}
    return Normalization.from_lerobot_stats(stats)
