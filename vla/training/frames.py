"""The whole dataset as arrays in memory: frames decoded once, sequentially, and chunk indices.

Random access through `LeRobotDataset.__getitem__` seeks into the video for every frame (~20-40
items/s on a 2-core CPU); decoding each episode's video front to back is ~50x faster and, for a
small policy, the difference between a GPU that waits and one that works. Chunks follow
`LeRobotDataset`'s `delta_timestamps` semantics exactly (indices clamped to the episode, steps past its
end flagged in `action_is_pad`); tests/test_training_data.py checks them against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np


@dataclass
class DatasetArrays:
    state: np.ndarray  # (N, S) float32, dataset units
    action: np.ndarray  # (N, A) float32
    episode_start: np.ndarray  # (N,) int64: first global index of each frame's episode
    episode_end: np.ndarray  # (N,) int64: one past the last
    tasks: list[str]  # (N,) the instruction of each frame's episode
    frames: dict[str, np.ndarray]  # camera key -> (N, H, W, 3) uint8

    def chunk_indices(self, chunk_length: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, T) indices of each frame's action chunk and (N, T) bool padding, as delta_timestamps gives."""
        raw = np.arange(len(self.state))[:, None] + np.arange(chunk_length)[None, :]
        is_pad = raw >= self.episode_end[:, None]
        return np.minimum(raw, self.episode_end[:, None] - 1), is_pad


def decode_segment(path, from_s: float, to_s: float, expected: int) -> np.ndarray:
    """Frames with timestamps in [from_s, to_s) of one video, decoded in order: (expected, H, W, 3) uint8."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if from_s > 0:
            container.seek(int(from_s / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base)
            if t < from_s - 1e-4:
                continue
            if t >= to_s - 1e-4 or len(frames) == expected:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
    if len(frames) != expected:
        raise ValueError(
            f"{path}: {len(frames)} frames in [{from_s:.3f}, {to_s:.3f}) s, the episode has {expected}"
        )
    return np.stack(frames)


def load_arrays(lerobot_dataset, camera_keys: list[str], progress=None) -> DatasetArrays:
    """Read every column and decode every camera of a LeRobotDataset into memory."""
    meta = lerobot_dataset.meta
    columns = lerobot_dataset.hf_dataset.with_format("numpy")
    state = np.asarray(columns["observation.state"], np.float32)
    action = np.asarray(columns["action"], np.float32)
    task_index = np.asarray(columns["task_index"])
    task_names = list(meta.tasks.index)
    n = len(state)
    if not np.array_equal(np.asarray(columns["index"]), np.arange(n)):
        raise ValueError(f"{meta.root}: frame rows are not in index order; run `vla data check {meta.root}`")
    start, end = np.zeros(n, np.int64), np.zeros(n, np.int64)
    frames = {key: np.zeros((n, *meta.features[key]["shape"]), np.uint8) for key in camera_keys}
    for episode in range(meta.total_episodes):
        row = meta.episodes[episode]
        lo, hi = row["dataset_from_index"], row["dataset_to_index"]
        start[lo:hi], end[lo:hi] = lo, hi
        for key in camera_keys:
            path = meta.root / meta.get_video_file_path(episode, key)
            frames[key][lo:hi] = decode_segment(
                path, row[f"videos/{key}/from_timestamp"], row[f"videos/{key}/to_timestamp"], hi - lo
            )
        if progress is not None:
            progress(episode + 1, meta.total_episodes)
    tasks = [task_names[i] for i in task_index]
    return DatasetArrays(state, action, start, end, tasks, frames)
