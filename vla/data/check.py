"""`check_dataset`: is a LeRobot v3.0 dataset complete and loadable, and what does it hold?

Every file is read on its own (`vla.data.layout`), so one bad file gives a `Problem` naming it and
the rest of the dataset is still judged. Errors are what breaks `LeRobotDataset(root=...)` or
training (a truncated parquet, a video short of frames, totals that disagree, missing statistics);
warnings are harmless leftovers (temp folders of an interrupted recording, unreferenced videos).
The frame-level checks (data rows, video frames) are in `vla.data.check_frames`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from vla.data.check_frames import check_data_files, check_leftovers, check_video_files
from vla.data.layout import (
    EPISODES_DIR,
    FRAME_COLUMNS,
    INFO_PATH,
    REPAIR_HINT,
    STATS_PATH,
    TASKS_PATH,
    BadFile,
    EpisodeRow,
    Findings,
    Problem,
    read_episode_rows,
    read_info,
    read_table,
    video_keys,
)

__all__ = ["CheckReport", "DatasetSummary", "Problem", "check_dataset", "require_dataset_root"]

REQUIRED_STATS = ("mean", "std", "min", "max", "count")


@dataclass
class DatasetSummary:
    """What a dataset holds, counted from its episode metadata."""

    episodes: int
    frames: int
    duration_s: float
    fps: float
    robot_type: str | None
    cameras: dict[str, tuple[int, ...]]  # feature key -> shape, e.g. (H, W, 3)
    tasks: dict[str, int]  # task string -> number of episodes with that task


@dataclass
class CheckReport(Findings):
    """The outcome of `check_dataset`: errors, warnings, and a summary (None if info.json is unusable)."""

    root: Path = Path()
    summary: DatasetSummary | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        """JSON-ready form, as written by `vla data check --json`."""
        return {
            "root": str(self.root),
            "ok": self.ok,
            "errors": [{"path": str(p.path), "message": p.message} for p in self.errors],
            "warnings": [{"path": str(p.path), "message": p.message} for p in self.warnings],
            "summary": asdict(self.summary) if self.summary else None,
        }


def require_dataset_root(root: Path, flag: str = "", also_accepted: str = "") -> Path:
    """`root` if it is the root folder of a LeRobot dataset (it holds meta/info.json). Otherwise raises, with
    one line that tells a misspelt path ("does not exist", MissingInputError) from a folder that is not a
    dataset (BadInputError), and says what is accepted: a LeRobot dataset folder, plus `also_accepted`
    (e.g. a frame cache, for training). `flag` (e.g. "--dataset") prefixes the path in the message."""
    from vla.runtime.errors import BadInputError, MissingInputError

    root = Path(root)
    named = f"{flag} {root}" if flag else str(root)
    accepted = "a LeRobot dataset folder (the one holding meta/info.json, as `vla record` writes)"
    accepted += f" or {also_accepted}" if also_accepted else ""
    if not root.exists():
        raise MissingInputError(f"{named} does not exist (a misspelt path?); give {accepted}")
    if not root.is_dir():
        raise BadInputError(f"{named} is a file, not a folder; give {accepted}")
    if (root / INFO_PATH).is_file():
        return root
    below = sorted(info.parent.parent for info in root.glob(f"*/{INFO_PATH}"))
    hint = f" (the dataset inside it? {below[0]})" if below else ""
    raise BadInputError(f"{named}: not a LeRobot dataset (no meta/info.json){hint}; give {accepted}")


def check_dataset(root: Path, decode_videos: bool = True) -> CheckReport:
    """Validate the LeRobot v3.0 dataset at `root` and summarise it. Never raises for a bad file.

    decode_videos=False counts video frames from packet timestamps instead of decoding them.
    """
    root = Path(root)
    report = CheckReport(root=root)
    try:
        info = read_info(root)
    except BadFile as bad:
        report.error(bad.path, bad.message)
        return report
    if not _check_info(root, info, report):
        return report
    episodes, tasks = _check_metadata(root, info, report)
    check_data_files(root, info, episodes, tasks, report)
    check_video_files(root, info, episodes, decode_videos, report)
    check_leftovers(root, info, episodes, report)
    report.summary = _summary(info, episodes)
    return report


def _check_metadata(root: Path, info: dict, report: CheckReport) -> tuple[list[EpisodeRow], dict[int, str]]:
    """Tasks, stats and episode metadata; returns the readable episodes and task_index -> task."""
    episodes = _check_episodes(root, info, report)
    if not episodes and info.get("total_episodes") == 0:
        report.warn(root / INFO_PATH, "the dataset has no episodes yet")
        return [], {}
    tasks = _check_tasks(root, info, report)
    _check_stats(root, info, report)
    for episode in episodes:
        unknown = [task for task in episode.tasks if task not in tasks.values()]
        if tasks and unknown:
            report.error(
                episode.meta_path, f"episode {episode.index}: tasks {unknown} are not in {TASKS_PATH}"
            )
    return episodes, tasks


def _check_info(root: Path, info: dict, report: CheckReport) -> bool:
    """The v3.0 schema of info.json; False when it is too broken to check anything else."""
    path = root / INFO_PATH
    before = len(report.errors)
    version = info.get("codebase_version")
    if version != "v3.0":
        hint = (
            " (convert it: python -m lerobot.scripts.convert_dataset_v21_to_v30)" if version == "v2.1" else ""
        )
        report.error(path, f"codebase_version is {version!r}, expected 'v3.0'{hint}")
        return False
    fps = info.get("fps")
    if isinstance(fps, bool) or not isinstance(fps, int | float) or fps <= 0:
        report.error(path, f"fps must be a positive number, found {fps!r}")
    features = info.get("features")
    if not isinstance(features, dict) or not features:
        report.error(path, "features must be a non-empty object (feature name -> dtype, shape)")
        features = {}
    for key, ft in features.items():
        shape = ft.get("shape") if isinstance(ft, dict) else None
        if not isinstance(ft, dict) or not isinstance(ft.get("dtype"), str):
            report.error(path, f"feature {key!r} has no dtype")
        elif not isinstance(shape, list) or not all(isinstance(n, int) and n > 0 for n in shape):
            report.error(path, f"feature {key!r} has shape {shape!r}, expected a list of positive sizes")
        elif ft["dtype"] in ("image", "video") and len(shape) != 3:
            report.error(
                path, f"camera feature {key!r} has shape {shape}, expected (height, width, channels)"
            )
    missing = [name for name in FRAME_COLUMNS if name not in features]
    if features and missing:
        report.error(path, f"features lack lerobot's frame columns {missing}")
    data_path = info.get("data_path")
    if not isinstance(data_path, str) or "{chunk_index" not in data_path or "{file_index" not in data_path:
        report.error(
            path, f"data_path must be a template with {{chunk_index}} and {{file_index}}, found {data_path!r}"
        )
    video_path = info.get("video_path")
    if video_keys(info) and (not isinstance(video_path, str) or "{video_key" not in video_path):
        report.error(path, f"video_path must be a template with {{video_key}}, found {video_path!r}")
    schema_ok = len(report.errors) == before
    for name in ("total_episodes", "total_frames"):
        value = info.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            report.error(path, f"{name} must be a count (an integer >= 0), found {value!r}")
    if "robot_type" not in info:
        report.error(path, "robot_type is missing (lerobot writes it, null when unknown)")
    elif info["robot_type"] is None:
        report.warn(path, "robot_type is null: nothing records which robot made this data")
    return schema_ok


def _check_tasks(root: Path, info: dict, report: CheckReport) -> dict[int, str]:
    """meta/tasks.parquet: task_index -> non-empty task string."""
    path = root / TASKS_PATH
    try:
        table = read_table(path)
    except BadFile as bad:
        report.error(bad.path, bad.message)
        return {}
    if not {"task", "task_index"} <= set(table.column_names):
        report.error(path, f"expected columns task and task_index, found {table.column_names}")
        return {}
    if not pa.types.is_integer(table.schema.field("task_index").type):
        report.error(path, f"task_index has type {table.schema.field('task_index').type}, expected integers")
        return {}
    tasks: dict[int, str] = {}
    for index, task in zip(table["task_index"].to_pylist(), table["task"].to_pylist(), strict=True):
        if index in tasks:
            report.error(path, f"task_index {index} appears twice")
        if not isinstance(task, str) or not task.strip():
            report.error(path, f"task_index {index} has an empty task string")
        tasks[index] = task
    if info.get("total_tasks") not in (None, len(tasks)):
        report.warn(root / INFO_PATH, f"total_tasks is {info['total_tasks']}, {TASKS_PATH} has {len(tasks)}")
    return tasks


def _expected_stat_shape(ft: dict) -> tuple[int, ...]:
    """lerobot keeps per-channel stats (C, 1, 1) for cameras and per-element stats otherwise."""
    shape = tuple(ft["shape"])
    if ft["dtype"] in ("image", "video"):
        names = ft.get("names")
        channels = (
            shape[names.index("channels")] if isinstance(names, list) and "channels" in names else shape[-1]
        )
        return (channels, 1, 1)
    return shape


def _check_stats(root: Path, info: dict, report: CheckReport) -> None:
    """meta/stats.json: mean/std/min/max/count of every non-string feature, shaped like it."""
    path = root / STATS_PATH
    fix = "; `vla data check --repair` recomputes it from the per-episode stats"
    if not path.is_file():
        report.error(path, "file is missing: training normalises inputs with these statistics" + fix)
        return
    try:
        stats = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        report.error(path, f"not valid JSON ({error}){fix}")
        return
    for key, ft in info["features"].items():
        if ft["dtype"] == "string":
            continue
        feature_stats = stats.get(key) if isinstance(stats, dict) else None
        if not isinstance(feature_stats, dict):
            report.error(path, f"no statistics for feature {key!r}")
            continue
        missing = [name for name in REQUIRED_STATS if name not in feature_stats]
        if missing:
            report.error(path, f"statistics of {key!r} lack {missing}")
        for name in REQUIRED_STATS:
            if name not in feature_stats:
                continue
            try:
                value = np.asarray(feature_stats[name], dtype=np.float64)
            except (TypeError, ValueError):
                report.error(path, f"{key!r} {name} is not numeric")
                continue
            expected = (1,) if name == "count" else _expected_stat_shape(ft)
            if value.shape != expected:
                report.error(path, f"{key!r} {name} has shape {value.shape}, expected {expected}")
            elif not np.all(np.isfinite(value)):
                report.error(path, f"{key!r} {name} contains NaN or inf")


def _check_episodes(root: Path, info: dict, report: CheckReport) -> list[EpisodeRow]:
    """meta/episodes: rows readable, indices 0..N-1 in order, totals and frame ranges consistent."""
    rows, bad_files = read_episode_rows(root, video_keys(info))
    for bad in bad_files:
        fix = f": {REPAIR_HINT}" if bad.unreadable else " until this file is fixed"
        report.error(bad.path, f"{bad.message}; LeRobotDataset cannot load the dataset{fix}")
    info_path = root / INFO_PATH
    counts = Counter(row.index for row in rows)
    for index, count in sorted(counts.items()):
        if count > 1:
            report.error(root / EPISODES_DIR, f"episode {index} has {count} metadata rows")
    present = sorted(counts)
    gaps = sorted(set(range(len(present))) - set(present))
    if gaps or (present and present[-1] != len(present) - 1):
        report.error(
            root / EPISODES_DIR, f"episode indices are not 0..{len(present) - 1}: missing {gaps[:10]}"
        )
    elif [row.index for row in rows] != present and not any(c > 1 for c in counts.values()):
        # lerobot looks an episode up by its row position in the concatenated files.
        report.error(root / EPISODES_DIR, "episode rows are not in episode_index order across the files")
    if isinstance(info.get("total_episodes"), int) and info["total_episodes"] != len(counts):
        report.error(
            info_path, f"total_episodes is {info['total_episodes']}, meta/episodes has {len(counts)}"
        )
    episodes = sorted({row.index: row for row in rows}.values(), key=lambda row: row.index)
    frames = sum(row.length for row in episodes)
    if isinstance(info.get("total_frames"), int) and info["total_frames"] != frames:
        report.error(
            info_path, f"total_frames is {info['total_frames']}, the episodes' lengths sum to {frames}"
        )
    start = 0
    for row in episodes:
        where = row.meta_path
        if row.length <= 0:
            report.error(where, f"episode {row.index} has length {row.length}")
        if not row.tasks or not all(isinstance(t, str) and t.strip() for t in row.tasks):
            report.error(where, f"episode {row.index} has no task string")
        if row.dataset_to_index - row.dataset_from_index != row.length:
            report.error(
                where,
                f"episode {row.index}: dataset_from_index..dataset_to_index "
                f"({row.dataset_from_index}..{row.dataset_to_index}) does not span its length {row.length}",
            )
        elif row.dataset_from_index != start and not gaps:
            report.error(
                where,
                f"episode {row.index} starts at global frame {row.dataset_from_index}, expected {start}",
            )
        start += row.length
    return episodes


def _summary(info: dict, episodes: list[EpisodeRow]) -> DatasetSummary:
    frames = sum(row.length for row in episodes)
    task_counts = Counter(task for row in episodes for task in set(row.tasks))
    features = info["features"]
    return DatasetSummary(
        episodes=len(episodes),
        frames=frames,
        duration_s=frames / info["fps"],
        fps=info["fps"],
        robot_type=info.get("robot_type"),
        cameras={k: tuple(ft["shape"]) for k, ft in features.items() if ft["dtype"] in ("image", "video")},
        tasks=dict(sorted(task_counts.items(), key=lambda item: (-item[1], item[0]))),
    )
