"""The frame-level checks of `vla data check`: data rows and video frames against the episode metadata.

An episode is usable when its data parquet holds exactly `length` rows, numbered 0..length-1 at
t = frame_index / fps, and each camera's mp4 holds exactly `length` frames in the episode's window
[from_timestamp, to_timestamp) at those times: lerobot decodes frame k at from_timestamp + k / fps
and fails beyond a 1e-4 s tolerance (`LeRobotDataset(tolerance_s=1e-4)`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vla.data.layout import (
    DATA_DIR,
    REPAIR_HINT,
    TASKS_PATH,
    VIDEOS_DIR,
    BadFile,
    EpisodeRow,
    Findings,
    VideoStream,
    data_file_path,
    frames_in_window,
    leftover_dirs,
    parquet_files,
    probe_video,
    read_table,
    video_file_path,
    video_keys,
)

TIME_TOLERANCE_S = 1e-4  # lerobot's default tolerance_s
INDEX_COLUMNS = ("episode_index", "frame_index", "timestamp", "index")


def check_data_files(
    root: Path, info: dict, episodes: list[EpisodeRow], tasks: dict[int, str], findings: Findings
) -> None:
    """data/**/*.parquet: readable, referenced, with every episode's rows complete and finite."""
    features = info["features"]
    columns = [key for key, ft in features.items() if ft["dtype"] != "video"]
    float_columns = [k for k in columns if features[k]["dtype"].startswith("float") and k != "timestamp"]
    known = {row.index for row in episodes}
    referenced = {data_file_path(root, info, row) for row in episodes}
    frames: dict[tuple[Path, int], dict[str, np.ndarray]] = {}  # (file, episode) -> its index columns
    readable: list[Path] = []
    global_index: list[np.ndarray] = []  # the index column of each readable file, in lerobot's order
    errors_before = len(findings.errors)
    for path in parquet_files(root, DATA_DIR):
        try:
            table = read_table(path)
        except BadFile as bad:
            findings.error(path, f"{bad.message}; LeRobotDataset cannot load the dataset: {REPAIR_HINT}")
            continue
        missing = [name for name in columns if name not in table.column_names]
        if missing:
            findings.error(path, f"lacks the columns {missing}")
            continue
        if path not in referenced:
            findings.error(
                path,
                f"no episode in meta/episodes refers to this file, yet LeRobotDataset loads every data file "
                f"and would mix its {table.num_rows} frames in: {REPAIR_HINT}",
            )
            continue
        wrong = [
            f"{name} is {table.schema.field(name).type}"
            for name in INDEX_COLUMNS
            if not _numeric(table, name)
        ]
        if wrong:
            findings.error(path, f"columns have unexpected types: {', '.join(wrong)}")
            continue
        readable.append(path)
        _check_values(path, table, float_columns, tasks, findings)
        values = {name: table[name].to_numpy() for name in INDEX_COLUMNS}
        global_index.append(values["index"])
        for episode in np.unique(values["episode_index"]).tolist():
            mask = values["episode_index"] == episode
            frames[(path, episode)] = {name: column[mask] for name, column in values.items()}
            if episode not in known:
                findings.error(
                    path,
                    f"holds {mask.sum()} frames of episode {episode}, which has no row in meta/episodes: "
                    + REPAIR_HINT,
                )
    for row in episodes:
        path = data_file_path(root, info, row)
        if not path.is_file():
            findings.error(path, f"file is missing: episode {row.index}'s frames should be here")
        elif path in readable:
            elsewhere = sorted(str(p) for p, episode in frames if episode == row.index and p != path)
            if elsewhere:
                findings.error(path, f"episode {row.index} also has frames in {elsewhere}")
            _check_episode_frames(path, row, frames.get((path, row.index)), info["fps"], findings)
    if len(findings.errors) == errors_before and global_index:
        # lerobot maps the global frame index to a row position in the sorted, concatenated files.
        index = np.concatenate(global_index)
        if not np.array_equal(index, np.arange(len(index))):
            findings.error(root / DATA_DIR, "frames are not stored in global index order across the files")


def _numeric(table: pa.Table, name: str) -> bool:
    kind = table.schema.field(name).type
    return pa.types.is_floating(kind) if name == "timestamp" else pa.types.is_integer(kind)


def _check_values(
    path: Path, table: pa.Table, float_columns: list[str], tasks: dict[int, str], findings: Findings
) -> None:
    """No NaN/inf in float features; every task_index names a task of tasks.parquet."""
    for name in float_columns:
        try:
            rows = _nonfinite_rows(table[name])
        except (TypeError, ValueError, pa.ArrowException) as error:
            findings.error(path, f"{name} does not hold numbers ({error})")
            continue
        if rows.size:
            episode = table["episode_index"][int(rows[0])].as_py()
            frame = table["frame_index"][int(rows[0])].as_py()
            findings.error(
                path, f"{name} is NaN or inf in {rows.size} frames (first: episode {episode}, frame {frame})"
            )
    if tasks:
        unknown = sorted(set(np.unique(table["task_index"].to_numpy()).tolist()) - set(tasks))
        if unknown:
            findings.error(path, f"task_index values {unknown} are not in {TASKS_PATH}")


def _nonfinite_rows(column: pa.ChunkedArray) -> np.ndarray:
    """Row numbers whose value (or any element of a list value) is NaN, inf or null."""
    array = column.combine_chunks()
    rows = np.arange(len(array))
    while (
        pa.types.is_list(array.type)
        or pa.types.is_fixed_size_list(array.type)
        or pa.types.is_large_list(array.type)
    ):
        rows = rows[pc.list_parent_indices(array).to_numpy()]
        array = pc.list_flatten(array)
    values = array.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls become NaN
    return np.unique(rows[~np.isfinite(values)])


def _check_episode_frames(
    path: Path, row: EpisodeRow, values: dict[str, np.ndarray] | None, fps: float, findings: Findings
) -> None:
    """One episode's rows: `length` of them, frame_index 0..length-1, t = frame_index / fps, global index."""
    count = 0 if values is None else len(values["frame_index"])
    if values is None or count != row.length:
        findings.error(path, f"episode {row.index} has {count} frames here, its metadata says {row.length}")
        return
    steps = np.arange(row.length)
    if not np.array_equal(values["frame_index"], steps):
        findings.error(path, f"episode {row.index}: frame_index is not 0..{row.length - 1} in order")
        return
    error = np.abs(values["timestamp"].astype(np.float64) - steps / fps)
    if error.max() > TIME_TOLERANCE_S:
        k = int(error.argmax())
        findings.error(
            path,
            f"episode {row.index}: frame {k} has timestamp {values['timestamp'][k]:.4f} s, "
            f"expected frame_index / fps = {k / fps:.4f} s",
        )
    if not np.array_equal(values["index"], row.dataset_from_index + steps):
        findings.error(
            path,
            f"episode {row.index}: the index column does not start at its dataset_from_index "
            f"{row.dataset_from_index} and count up",
        )


def check_video_files(
    root: Path, info: dict, episodes: list[EpisodeRow], decode: bool, findings: Findings
) -> None:
    """Each camera's mp4 opens, matches fps and frame size, and holds each episode's frames."""
    fps = info["fps"]
    streams: dict[Path, VideoStream | None] = {}
    for key in video_keys(info):
        for row in episodes:
            span = row.videos[key]
            path = video_file_path(root, info, key, span)
            if path not in streams:
                streams[path] = _open_video(path, info, key, row, decode, findings)
            stream = streams[path]
            if stream is None:
                continue
            times = frames_in_window(stream, span, fps)
            if len(times) != row.length:
                findings.error(
                    path,
                    f"episode {row.index}: {len(times)} frames in [{span.start_s:.3f}, {span.end_s:.3f}) s, "
                    f"the episode has {row.length} (the file holds {len(stream.frame_times)} frames)",
                )
                continue
            expected = span.start_s + np.arange(row.length) / fps
            k = int(np.abs(times - expected).argmax())
            if abs(times[k] - expected[k]) > TIME_TOLERANCE_S:
                findings.error(
                    path,
                    f"episode {row.index}: frame {k} is at {times[k]:.4f} s, lerobot looks for it at "
                    f"{expected[k]:.4f} s (tolerance {TIME_TOLERANCE_S} s)",
                )


def _open_video(
    path: Path, info: dict, key: str, row: EpisodeRow, decode: bool, findings: Findings
) -> VideoStream | None:
    """Probe one mp4 and report file-level problems; None when it cannot be read at all."""
    try:
        stream = probe_video(path, decode)
    except BadFile as bad:
        findings.error(path, f"{bad.message} (episode {row.index} of {key} is stored here)")
        return None
    if abs(stream.fps - info["fps"]) > 1e-3:
        findings.error(path, f"video runs at {stream.fps:g} fps, info.json says {info['fps']}")
    height, width = _frame_size(info["features"][key])
    if (stream.height, stream.width) != (height, width):
        findings.error(
            path,
            f"frames are {stream.height}x{stream.width} (height x width), "
            f"feature {key!r} says {height}x{width}",
        )
    return stream


def _frame_size(ft: dict) -> tuple[int, int]:
    """(height, width) of a camera feature, located by its names (lerobot writes H, W, C)."""
    names = ft.get("names")
    shape = ft["shape"]
    if isinstance(names, list) and "height" in names and "width" in names:
        return shape[names.index("height")], shape[names.index("width")]
    return shape[0], shape[1]


def check_leftovers(root: Path, info: dict, episodes: list[EpisodeRow], findings: Findings) -> None:
    """Temp folders of an interrupted recording and videos no episode refers to (harmless to loading)."""
    for folder in leftover_dirs(root):
        findings.warn(
            folder, f"temporary folder left by an interrupted recording; {REPAIR_HINT} to remove it"
        )
    keys = video_keys(info)
    referenced = {video_file_path(root, info, key, row.videos[key]) for key in keys for row in episodes}
    for path in sorted((root / VIDEOS_DIR).rglob("*.mp4")):
        if path not in referenced:
            findings.warn(path, f"no episode refers to this video (an unfinished episode's?); {REPAIR_HINT}")
