"""`repair_dataset`: make a dataset whose recording process was killed loadable again.

A recording killed mid-save (lerobot 0.6.1 through `vla.data.recorder`) can leave: a data or
episode-metadata parquet without its footer (the writer was still open), an mp4 of the unfinished
episode, the streaming encoder's `tmpXXXX/` folder, staged PNG frames under `images/`, and an
info.json / stats.json that already count the unfinished episode. Any unreadable parquet under
data/ or meta/episodes/ stops `LeRobotDataset` from loading, since it reads all of them.

The repair keeps the longest prefix of episodes 0..K-1 that are complete (metadata row readable,
`length` data rows, `length` frames per camera) and removes everything else the crash left. Episode
indices must stay contiguous, so an episode after the first incomplete one is dropped too. It first
plans, then acts: a dataset it cannot repair without guessing raises ValueError with nothing changed,
and a dataset with nothing to repair is left byte for byte as it was.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vla.data.layout import (
    DATA_DIR,
    EPISODES_DIR,
    INFO_PATH,
    STATS_PATH,
    VIDEOS_DIR,
    BadFile,
    EpisodeRow,
    VideoStream,
    data_file_path,
    frames_in_window,
    leftover_dirs,
    parquet_files,
    probe_video,
    read_episode_rows,
    read_info,
    read_table,
    video_file_path,
    video_keys,
)

if TYPE_CHECKING:
    from lerobot.datasets.utils import DatasetInfo


@dataclass
class RepairReport:
    """What `repair_dataset` did. `removed` lists deleted files and folders; nothing else was deleted."""

    root: Path
    removed: list[Path] = field(default_factory=list)
    episodes_kept: int = 0
    episodes_dropped: list[int] = field(default_factory=list)  # episode indices whose data was deleted
    rewritten: list[Path] = field(default_factory=list)  # shared parquet files rewritten without them
    rewrote_info: bool = False  # info.json totals and stats.json recomputed

    @property
    def changed(self) -> bool:
        return bool(self.removed or self.rewritten or self.rewrote_info)

    def __str__(self) -> str:
        if not self.changed:
            return f"{self.root}: nothing to repair ({self.episodes_kept} complete episodes)"
        dropped = f", dropped unfinished episodes {self.episodes_dropped}" if self.episodes_dropped else ""
        lines = [f"{self.root}: repaired, kept {self.episodes_kept} complete episodes{dropped}"]
        lines += [f"  removed {path}" for path in self.removed]
        lines += [f"  rewrote {path} without the dropped episodes" for path in self.rewritten]
        if self.rewrote_info:
            lines.append(f"  rewrote {INFO_PATH} totals and {STATS_PATH} for {self.episodes_kept} episodes")
        return "\n".join(lines)


def repair_dataset(root: Path) -> RepairReport:
    """Remove what an interrupted recording left at `root`, keeping every complete episode.

    Raises ValueError, naming the file and changing nothing, when meta/info.json is missing or not
    v3.0 JSON, when an episode-metadata file is readable but malformed, or when a complete episode
    follows an incomplete one: none of these is what a crash leaves, and deleting would be a guess.
    """
    root = Path(root)
    info, dataset_info = _load_info(root)
    unreadable = [path for folder in (EPISODES_DIR, DATA_DIR) for path in _unreadable_parquet(root, folder)]
    keys = video_keys(info)
    rows, malformed = read_episode_rows(root, keys)
    malformed = [bad for bad in malformed if bad.path not in unreadable]
    if malformed:
        raise ValueError(f"cannot repair: {malformed[0]}")
    if not parquet_files(root, EPISODES_DIR) and set(parquet_files(root, DATA_DIR)) - set(unreadable):
        # A crash cannot lose every metadata file yet leave complete data: someone removed them.
        raise ValueError(f"cannot repair: {root / EPISODES_DIR} is missing, so nothing says what data/ holds")

    kept = _complete_prefix(root, info, rows)
    report = RepairReport(root=root, episodes_kept=len(kept))
    counted = info.get("total_episodes")
    last = max([row.index + 1 for row in rows] + [counted if isinstance(counted, int) else 0])
    report.episodes_dropped = list(range(len(kept), last))
    for folder in leftover_dirs(root):
        shutil.rmtree(folder)
        report.removed.append(folder)
    for path in unreadable:
        _remove(path, report)
    _prune_parquet(root, EPISODES_DIR, {row.meta_path for row in kept}, len(kept), report)
    _prune_parquet(root, DATA_DIR, {data_file_path(root, info, row) for row in kept}, len(kept), report)
    videos = {video_file_path(root, info, key, row.videos[key]) for key in keys for row in kept}
    for path in sorted((root / VIDEOS_DIR).rglob("*.mp4")):
        if path not in videos:
            _remove(path, report)

    frames = sum(row.length for row in kept)
    totals_wrong = (info.get("total_episodes"), info.get("total_frames")) != (len(kept), frames)
    if totals_wrong or (kept and not _stats_readable(root)):
        _rewrite_info_and_stats(root, dataset_info, kept, frames)
        report.rewrote_info = True
    return report


def _load_info(root: Path) -> tuple[dict, DatasetInfo]:
    """info.json as a dict and as lerobot's DatasetInfo; ValueError naming the file when unusable."""
    from lerobot.datasets.utils import DatasetInfo

    try:
        info = read_info(root)
    except BadFile as bad:
        raise ValueError(f"cannot repair: {bad}") from None
    if info.get("codebase_version") != "v3.0":
        # Other versions lay files out differently: repairing them as v3.0 would delete their data.
        version = info.get("codebase_version")
        raise ValueError(f"cannot repair: {root / INFO_PATH}: codebase_version is {version!r}, not 'v3.0'")
    templates = [info.get("data_path")] + ([info.get("video_path")] if video_keys(info) else [])
    if not all(isinstance(template, str) for template in templates):
        raise ValueError(f"cannot repair: {root / INFO_PATH}: data_path or video_path is missing")
    try:
        return info, DatasetInfo.from_dict(copy.deepcopy(info))
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"cannot repair: {root / INFO_PATH}: not a v3.0 info.json ({error})") from None


def _unreadable_parquet(root: Path, folder: Path) -> list[Path]:
    unreadable = []
    for path in parquet_files(root, folder):
        try:
            read_table(path)  # all of it, as `vla data check` and lerobot read it
        except BadFile:
            unreadable.append(path)
    return unreadable


def _complete_prefix(root: Path, info: dict, rows: list[EpisodeRow]) -> list[EpisodeRow]:
    """Episodes 0..K-1, K as large as possible with each one complete.

    A killed recording damages only the episodes it was writing, the last ones. A complete episode
    after an incomplete one means something else broke the dataset: dropping it would lose a good
    episode, so that raises ValueError instead.
    """
    by_index: dict[int, EpisodeRow] = {}
    for row in rows:
        by_index.setdefault(row.index, row)
    data: dict[Path, np.ndarray | None] = {}  # data file -> (N, 2) episode_index, frame_index
    videos: dict[Path, VideoStream | None] = {}
    kept: list[EpisodeRow] = []
    while (row := by_index.get(len(kept))) is not None and _is_complete(root, info, row, data, videos):
        kept.append(row)
    later = [
        i
        for i, row in sorted(by_index.items())
        if i > len(kept) and _is_complete(root, info, row, data, videos)
    ]
    if later:
        raise ValueError(
            f"cannot repair: {root}: episode {len(kept)} is incomplete or has no metadata row, yet later "
            f"episodes {later} are complete. That is not an interrupted recording; keeping the prefix would "
            f"delete them. Run `vla data check` to see what is wrong with episode {len(kept)}, and fix or "
            "remove it by hand (lerobot.datasets.dataset_tools.delete_episodes)."
        )
    return kept


def _is_complete(
    root: Path,
    info: dict,
    row: EpisodeRow,
    data: dict[Path, np.ndarray | None],
    videos: dict[Path, VideoStream | None],
) -> bool:
    """The episode has `length` data rows numbered 0..length-1 and `length` frames for every camera."""
    if row.length <= 0:
        return False
    path = data_file_path(root, info, row)
    if path not in data:
        try:
            table = read_table(path, columns=["episode_index", "frame_index"])
            data[path] = np.stack([table["episode_index"].to_numpy(), table["frame_index"].to_numpy()], 1)
        except BadFile:
            data[path] = None
    if data[path] is None:
        return False
    frame_index = data[path][data[path][:, 0] == row.index, 1]
    if not np.array_equal(frame_index, np.arange(row.length)):
        return False
    for key, span in row.videos.items():
        path = video_file_path(root, info, key, span)
        if path not in videos:
            try:
                videos[path] = probe_video(path, decode=False)
            except BadFile:
                videos[path] = None
        if videos[path] is None or len(frames_in_window(videos[path], span, info["fps"])) != row.length:
            return False
    return True


def _prune_parquet(
    root: Path, folder: Path, keep: set[Path], episodes_kept: int, report: RepairReport
) -> None:
    """Delete parquet files no kept episode uses; rewrite shared ones without rows of dropped episodes."""
    for path in parquet_files(root, folder):
        if path in report.removed:
            continue
        if path not in keep:
            _remove(path, report)
            continue
        if pc.all(pc.less(read_table(path, ["episode_index"])["episode_index"], episodes_kept)).as_py():
            continue
        table = pq.read_table(path)
        partial = path.with_name(path.name + ".partial")
        # The filtered table keeps the schema metadata (the HF features lerobot reads back).
        pq.write_table(table.filter(pc.less(table["episode_index"], episodes_kept)), partial)
        os.replace(partial, path)  # atomic: a second crash leaves the old or the new file
        report.rewritten.append(path)


def _remove(path: Path, report: RepairReport) -> None:
    """Delete a file, then the chunk folders it leaves empty (lerobot never needs an empty one)."""
    path.unlink()
    report.removed.append(path)
    parent = path.parent
    tops = {report.root, report.root / DATA_DIR, report.root / VIDEOS_DIR, report.root / EPISODES_DIR}
    while parent not in tops and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _stats_readable(root: Path) -> bool:
    try:
        return isinstance(json.loads((root / STATS_PATH).read_text()), dict)
    except (OSError, ValueError):
        return False


def _rewrite_info_and_stats(root: Path, info: DatasetInfo, kept: list[EpisodeRow], frames: int) -> None:
    """info.json totals for the kept episodes; stats.json aggregated from their per-episode stats."""
    from lerobot.datasets.compute_stats import aggregate_stats
    from lerobot.datasets.io_utils import write_info, write_stats

    info.total_episodes = len(kept)
    info.total_frames = frames
    info.splits = {"train": f"0:{len(kept)}"}
    episode_stats = [row.stats for row in kept if row.stats]
    if episode_stats:
        write_stats(aggregate_stats(episode_stats), root)
    else:
        # No episodes left: a new dataset has no stats.json either (lerobot writes it on the first save).
        (root / STATS_PATH).unlink(missing_ok=True)
    write_info(info, root)  # last: until here a second crash still leaves the old totals to repair from
