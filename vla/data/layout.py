"""Reading the files of a LeRobot v3.0 dataset one by one, so a bad file is named instead of crashing.

LeRobot's loader (lerobot 0.6.1, `lerobot/datasets/io_utils.py`) reads every parquet file of a folder
in one call and raises on the first bad one; `LeRobotDataset` then even falls back to a Hub download.
`vla data check` and `vla data check --repair` need the opposite: read each file on its own and turn
a failure into a `BadFile` that says which file and why. The layout they read:

    meta/info.json                              schema, fps, totals, path templates
    meta/stats.json                             per feature: mean/std/min/max/count (+ quantiles)
    meta/tasks.parquet                          task string (a pandas index) -> task_index
    meta/episodes/chunk-XXX/file-YYY.parquet    one row per episode: length, tasks, where its data
                                                rows and video frames are, its own stats
    data/chunk-XXX/file-YYY.parquet             one row per frame, episodes in order
    videos/<feature>/chunk-XXX/file-YYY.mp4     episodes one after another; an episode is the
                                                frames in [from_timestamp, to_timestamp)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

INFO_PATH = Path("meta/info.json")
STATS_PATH = Path("meta/stats.json")
TASKS_PATH = Path("meta/tasks.parquet")
EPISODES_DIR = Path("meta/episodes")
DATA_DIR = Path("data")
VIDEOS_DIR = Path("videos")
# Columns lerobot adds to every frame (lerobot.utils.constants.DEFAULT_FEATURES).
FRAME_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")
EPISODE_COLUMNS = (
    "episode_index",
    "tasks",
    "length",
    "data/chunk_index",
    "data/file_index",
    "dataset_from_index",
    "dataset_to_index",
)
VIDEO_COLUMNS = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
REPAIR_HINT = "run `vla data check --repair`"


@dataclass(frozen=True)
class Problem:
    """A finding about one file: which file, and what is wrong in words a user understands."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Findings:
    """Errors (the dataset will not load or train correctly) and warnings (harmless, worth cleaning)."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def error(self, path: Path, message: str) -> None:
        self.errors.append(Problem(path, message))

    def warn(self, path: Path, message: str) -> None:
        self.warnings.append(Problem(path, message))


class BadFile(Exception):
    """A dataset file that cannot be used: `path` and, in words, what is wrong with it."""

    def __init__(self, path: Path, message: str, unreadable: bool = False):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.unreadable = unreadable  # cannot be parsed at all (what a crash leaves), not just malformed


@dataclass(frozen=True)
class VideoSpan:
    """Where one episode of one camera lives: a file and the time window [start_s, end_s) in it."""

    chunk_index: int
    file_index: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class EpisodeRow:
    """One row of meta/episodes: an episode and where its frames are stored."""

    index: int
    length: int
    tasks: tuple[str, ...]
    data_chunk: int
    data_file: int
    dataset_from_index: int  # global frame index of its first frame
    dataset_to_index: int  # one past its last
    videos: dict[str, VideoSpan]
    meta_path: Path  # the meta/episodes parquet file holding this row
    # feature -> stat name -> array, as written by lerobot's compute_episode_stats
    stats: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """The whole parquet table at `path`; a missing, truncated or foreign file raises `BadFile`."""
    if not path.is_file():
        raise BadFile(path, "file is missing")
    try:
        return pq.read_table(path, columns=columns)
    except Exception as error:  # pyarrow raises several types; any of them means the file is unusable
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        reason = re.sub(r"^Could not open Parquet input source '.*?': ", "", reason)  # names the file again
        message = f"unreadable parquet, typically cut off by a killed recording ({reason})"
        raise BadFile(path, message, unreadable=True) from None


def read_info(root: Path) -> dict:
    """meta/info.json as a dict; `BadFile` when it is missing, not JSON, or not a JSON object."""
    path = root / INFO_PATH
    if not path.is_file():
        raise BadFile(path, "file is missing: this is not a LeRobot dataset (or not its root folder)")
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadFile(path, f"not valid JSON ({error})") from None
    if not isinstance(info, dict):
        raise BadFile(path, f"expected a JSON object, found {type(info).__name__}")
    return info


def video_keys(info: dict) -> list[str]:
    """The features stored as mp4 files, in info.json order."""
    features = info.get("features")
    if not isinstance(features, dict):
        return []
    return [key for key, ft in features.items() if isinstance(ft, dict) and ft.get("dtype") == "video"]


def data_file_path(root: Path, info: dict, episode: EpisodeRow) -> Path:
    """The data parquet file holding `episode`'s frames."""
    return root / info["data_path"].format(chunk_index=episode.data_chunk, file_index=episode.data_file)


def video_file_path(root: Path, info: dict, key: str, span: VideoSpan) -> Path:
    """The mp4 file holding one camera's frames of an episode."""
    template = info["video_path"]
    return root / template.format(video_key=key, chunk_index=span.chunk_index, file_index=span.file_index)


def parquet_files(root: Path, folder: Path) -> list[Path]:
    """Parquet files under root/folder, sorted the way lerobot concatenates them."""
    return sorted((root / folder).rglob("*.parquet"))


def read_episode_rows(root: Path, keys: list[str]) -> tuple[list[EpisodeRow], list[BadFile]]:
    """Every readable row of meta/episodes (in file order) and one `BadFile` per file that is not.

    `keys` are the video features whose spans each row must carry.
    """
    rows: list[EpisodeRow] = []
    bad: list[BadFile] = []
    for path in parquet_files(root, EPISODES_DIR):
        try:
            rows.extend(_episode_rows(path, read_table(path), keys))
        except BadFile as error:
            bad.append(error)
        except (TypeError, ValueError) as error:  # a readable file with values of the wrong kind
            bad.append(BadFile(path, f"episode metadata has values of unexpected types ({error})"))
    return rows, bad


def _episode_rows(path: Path, table: pa.Table, keys: list[str]) -> list[EpisodeRow]:
    needed = list(EPISODE_COLUMNS) + [f"videos/{key}/{col}" for key in keys for col in VIDEO_COLUMNS]
    missing = [name for name in needed if name not in table.column_names]
    if missing:
        raise BadFile(path, f"episode metadata lacks columns {missing}")
    stat_columns = [name for name in table.column_names if name.startswith("stats/")]
    rows = []
    for record in table.select(needed + stat_columns).to_pylist():
        if any(record[name] is None for name in needed):
            raise BadFile(path, f"episode {record['episode_index']} has empty fields")
        if not isinstance(record["tasks"], list):
            raise BadFile(path, f"episode {record['episode_index']}: tasks is not a list of strings")
        stats: dict[str, dict[str, np.ndarray]] = {}
        for name in stat_columns:
            if record[name] is not None:
                feature, stat = name.removeprefix("stats/").rsplit("/", 1)
                stats.setdefault(feature, {})[stat] = np.asarray(record[name])
        videos = {
            key: VideoSpan(
                int(record[f"videos/{key}/chunk_index"]),
                int(record[f"videos/{key}/file_index"]),
                float(record[f"videos/{key}/from_timestamp"]),
                float(record[f"videos/{key}/to_timestamp"]),
            )
            for key in keys
        }
        rows.append(
            EpisodeRow(
                index=int(record["episode_index"]),
                length=int(record["length"]),
                tasks=tuple(record["tasks"]),
                data_chunk=int(record["data/chunk_index"]),
                data_file=int(record["data/file_index"]),
                dataset_from_index=int(record["dataset_from_index"]),
                dataset_to_index=int(record["dataset_to_index"]),
                videos=videos,
                meta_path=path,
                stats=stats,
            )
        )
    return rows


@dataclass(frozen=True)
class VideoStream:
    """What an mp4 holds: its first video stream's rate, frame size and frame times."""

    fps: float
    width: int
    height: int
    frame_times: np.ndarray  # (F,) seconds, ascending


def probe_video(path: Path, decode: bool) -> VideoStream:
    """Open `path` with PyAV and list its frame times; `BadFile` when it is missing or unreadable.

    decode=False reads packet timestamps only (fast; a frame is a packet for the codecs lerobot
    writes); decode=True decodes every frame, which also catches corrupt frame data.
    """
    import av

    if not path.is_file():
        raise BadFile(path, "file is missing")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadFile(path, "has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or 0
            if decode:
                times = [frame.time for frame in container.decode(stream) if frame.time is not None]
            else:
                times = [
                    float(packet.pts * packet.time_base)
                    for packet in container.demux(stream)
                    if packet.pts is not None and packet.size > 0
                ]
            width, height = stream.codec_context.width, stream.codec_context.height
    except BadFile:
        raise
    except Exception as error:  # PyAV raises FFmpegError subclasses and OSError for broken files
        raise BadFile(path, f"PyAV cannot read it ({error})") from None
    return VideoStream(float(rate), int(width), int(height), np.sort(np.asarray(times, dtype=np.float64)))


def frames_in_window(stream: VideoStream, span: VideoSpan, fps: float) -> np.ndarray:
    """Times of the frames that belong to `span`: those in [start_s, end_s), half a frame of slack."""
    half_frame = 0.5 / fps
    times = stream.frame_times
    return times[(times >= span.start_s - half_frame) & (times < span.end_s - half_frame)]


def leftover_dirs(root: Path) -> list[Path]:
    """Folders an interrupted recording leaves in the root: encoder temp dirs `tmp*`, staged `images/`."""
    found = [path for path in sorted(root.glob("tmp*")) if path.is_dir()]
    if (root / "images").is_dir():
        found.append(root / "images")
    return found
