"""The whole dataset as arrays in memory: frames decoded once, sequentially, and chunk indices.

Random access through `LeRobotDataset.__getitem__` seeks into the video for every frame (~20-40
items/s on a 2-core CPU); decoding each episode's video front to back is ~50x faster and, for a
small policy, the difference between a GPU that waits and one that works. Chunks follow
`LeRobotDataset`'s `delta_timestamps` semantics exactly (indices clamped to the episode, steps past its
end flagged in `action_is_pad`); tests/test_training_data.py checks them against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vla.contract import ACTION, ENVIRONMENT_STATE, OBS_STATE


@dataclass
class DatasetArrays:
    state: np.ndarray  # (N, S) float32, dataset units
    action: np.ndarray  # (N, A) float32
    episode_start: np.ndarray  # (N,) int64: first global index of each frame's episode
    episode_end: np.ndarray  # (N,) int64: one past the last
    tasks: list[str]  # (N,) the instruction of each frame's episode
    frames: dict[str, np.ndarray]  # camera key -> (N, H, W, 3) uint8
    environment_state: np.ndarray | None = None  # (N, E) float32 object positions (sim), when recorded
    environment_state_names: list[str] | None = None  # (E,) e.g. `red_cube.x` (the feature's names)

    def chunk_indices(self, chunk_length: int) -> tuple[np.ndarray, np.ndarray]:
        """(N, T) indices of each frame's action chunk and (N, T) bool padding, as delta_timestamps gives."""
        raw = np.arange(len(self.state))[:, None] + np.arange(chunk_length)[None, :]
        is_pad = raw >= self.episode_end[:, None]
        return np.minimum(raw, self.episode_end[:, None] - 1), is_pad


def decode_segment(path, from_s: float, to_s: float, expected: int) -> np.ndarray:
    """Frames with timestamps in [from_s, to_s) of one video, decoded in order: (expected, H, W, 3) uint8."""
    import av  # here, not at the top: a frame cache (below) trains where PyAV is not installed

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
    state = np.asarray(columns[OBS_STATE], np.float32)
    action = np.asarray(columns[ACTION], np.float32)
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
    environment = None
    if ENVIRONMENT_STATE in meta.features:
        environment = np.asarray(columns[ENVIRONMENT_STATE], np.float32)
    names = meta.features.get(ENVIRONMENT_STATE, {}).get("names")
    return DatasetArrays(state, action, start, end, tasks, frames, environment, feature_names(names))


def feature_names(names) -> list[str] | None:
    """A feature's names as LeRobot stores them: a list, or {"axes": list} in older datasets."""
    if isinstance(names, dict):
        names = next(iter(names.values()), None)
    return [str(n) for n in names] if names else None


# A saved `DatasetArrays` ("frame cache"): what a training run decodes a LeRobot dataset into, as .npy
# files a later run memory-maps instead of decoding again. `vla record --source expert --arrays` renders
# straight into one, which is how a GPU machine makes a large training set in seconds (no video encode or
# decode, no compression artefacts). It is a cache beside the LeRobot format, not a replacement for it.
ARRAYS_MANIFEST = "arrays.json"


def is_arrays_folder(path) -> bool:
    return (Path(path) / ARRAYS_MANIFEST).is_file()


def save_arrays(arrays: DatasetArrays, folder, fps: int, suite: str | None = None) -> Path:
    """Write `arrays` as .npy files plus a JSON manifest (cameras, tasks, fps, suite) into `folder`.

    A frame cache is training data: with `suite`, an instruction that suite holds out (a held-out
    composition or paraphrase, sim/tasks/suites.py) fails before anything is written."""
    folder = Path(folder)
    names = sorted(set(arrays.tasks))
    if suite is not None:
        from sim.tasks import get_suite

        get_suite(suite).check_training_instructions(names, f"frame cache {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    index = {name: i for i, name in enumerate(names)}
    np.save(folder / "state.npy", arrays.state)
    np.save(folder / "action.npy", arrays.action)
    np.save(folder / "episode_start.npy", arrays.episode_start)
    np.save(folder / "episode_end.npy", arrays.episode_end)
    np.save(folder / "task_index.npy", np.array([index[t] for t in arrays.tasks], np.int64))
    if arrays.environment_state is not None:
        np.save(folder / "environment_state.npy", arrays.environment_state)
    cameras = {}
    for i, (key, frames) in enumerate(arrays.frames.items()):
        np.save(folder / f"frames_{i}.npy", frames)
        cameras[key] = f"frames_{i}.npy"
    manifest = {"frames": len(arrays.state), "fps": fps, "cameras": cameras, "tasks": names}
    if suite is not None:
        manifest["suite"] = suite
    if arrays.environment_state_names:
        manifest["environment_state_names"] = list(arrays.environment_state_names)
    (folder / ARRAYS_MANIFEST).write_text(json.dumps(manifest, indent=2))  # last: marks the folder complete
    return folder


def open_arrays(folder, camera_keys: list[str] | None = None) -> DatasetArrays:
    """A saved frame cache, memory-mapped (frames are read from disk as they are indexed)."""
    folder = Path(folder)
    if not is_arrays_folder(folder):
        raise FileNotFoundError(f"{folder}: not a frame cache (no {ARRAYS_MANIFEST})")
    manifest = json.loads((folder / ARRAYS_MANIFEST).read_text())
    keys = camera_keys or list(manifest["cameras"])
    missing = [key for key in keys if key not in manifest["cameras"]]
    if missing:
        raise KeyError(f"{folder}: no camera {missing}; it has {sorted(manifest['cameras'])}")
    task_index = np.load(folder / "task_index.npy")
    environment = folder / "environment_state.npy"
    return DatasetArrays(
        state=np.load(folder / "state.npy"),
        action=np.load(folder / "action.npy"),
        episode_start=np.load(folder / "episode_start.npy"),
        episode_end=np.load(folder / "episode_end.npy"),
        tasks=[manifest["tasks"][i] for i in task_index],
        frames={key: np.load(folder / manifest["cameras"][key], mmap_mode="r") for key in keys},
        environment_state=np.load(environment) if environment.is_file() else None,
        environment_state_names=manifest.get("environment_state_names"),
    )


def arrays_from_episodes(
    episodes: list[dict], environment_state_names: list[str] | None = None
) -> DatasetArrays:
    """Concatenate episodes, each {"images": {key: (T, H, W, 3) uint8}, "state": (T, S), "action": (T, A),
    "task": str, and optionally "environment_state": (T, E)}, in order. The environment state is kept
    when every episode has it."""
    lengths = [len(e["state"]) for e in episodes]
    environment = None
    if all("environment_state" in e for e in episodes):
        environment = np.concatenate([e["environment_state"] for e in episodes]).astype(np.float32)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    return DatasetArrays(
        state=np.concatenate([e["state"] for e in episodes]).astype(np.float32),
        action=np.concatenate([e["action"] for e in episodes]).astype(np.float32),
        episode_start=np.repeat(starts, lengths).astype(np.int64),
        episode_end=np.repeat(ends, lengths).astype(np.int64),
        tasks=[e["task"] for e in episodes for _ in range(len(e["state"]))],
        frames={key: np.concatenate([e["images"][key] for e in episodes]) for key in episodes[0]["images"]},
        environment_state=environment,
        environment_state_names=environment_state_names if environment is not None else None,
    )


def arrays_stats(arrays: DatasetArrays) -> dict:
    """LeRobot-style stats (min/max/mean/std/q01/q99) of state and action, as `meta/stats.json` holds."""

    def describe(x: np.ndarray) -> dict:
        return {
            "min": x.min(0),
            "max": x.max(0),
            "mean": x.mean(0),
            "std": x.std(0),
            "q01": np.quantile(x, 0.01, axis=0),
            "q99": np.quantile(x, 0.99, axis=0),
        }

    stats = {OBS_STATE: describe(arrays.state), ACTION: describe(arrays.action)}
    if arrays.environment_state is not None:
        stats[ENVIRONMENT_STATE] = describe(arrays.environment_state)
    return stats
