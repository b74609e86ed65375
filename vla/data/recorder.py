"""Recording episodes into a LeRobot v3 dataset through lerobot's own writer, durably.

LeRobot's writer keeps one parquet writer open across episodes and appends each episode's video to
one growing mp4. Killed before `finalize()`, that leaves parquet files without a footer (every episode
in them unreadable), and the mp4 concatenation re-muxes the whole file on every save (the 30-60 s
stalls LeRobot users report). `DatasetRecorder` keeps the format and the writer but:

- gives each episode its own data, video and episode-metadata files (file-size limits near zero), so
  a save never rewrites earlier episodes and costs the same for episode 1 and episode 1000;
- encodes video while frames arrive (lerobot's streaming encoder), so a save only flushes;
- closes every writer after each save, so all saved episodes are complete files on disk at any moment;
- defers Ctrl-C / SIGTERM that arrive during a save until the save is complete.

A SIGKILL during the short save window can leave a partial episode; `vla.data.repair` removes it
(run by `vla data check --repair`, and automatically when recording resumes into the same root).
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vla.data import VIDEO_BACKEND
from vla.data.features import ACTION, ENVIRONMENT_STATE, OBS_STATE, ROBOT_TYPE, camera_key

# One file per episode: lerobot rolls to a new file once the current one would pass this size.
PER_EPISODE_FILE_MB = 1e-6
# Frames per camera the streaming encoder may fall behind by. LeRobot's default, 30 (1 s), drops frames once
# it is passed, and the episode's video then holds fewer frames than its table (seen on a loaded 2-core
# machine: 185 of 188). 600 frames is 20 s at 30 fps, 29 MB per 128x128 camera at most.
ENCODER_QUEUE_FRAMES = 600


@dataclass(frozen=True)
class WriterSettings:
    """How lerobot's writer is driven. `DURABLE` is what `vla record` uses; `LEROBOT_DEFAULTS` is what
    `LeRobotDataset.create` does out of the box (kept for `vla bench record` to compare against)."""

    streaming_encoding: bool = True  # encode video while frames arrive instead of PNGs + encode on save
    per_episode_files: bool = True  # never append to (and re-mux) earlier episodes' files
    close_after_save: bool = True  # parquet footers written after every episode


DURABLE = WriterSettings()
LEROBOT_DEFAULTS = WriterSettings(streaming_encoding=False, per_episode_files=False, close_after_save=False)


# Set by any SIGINT/SIGTERM while `stop_on_signals` is installed. Python loses a KeyboardInterrupt raised
# while a finalizer (__del__, a GC callback) runs ("Exception ignored in ..."); the flag is not lost, and
# `DatasetRecorder.add_frame` raises again when it finds it set, so one Ctrl-C always stops a recording.
STOP_REQUESTED = threading.Event()


def _stop(signum, _frame):
    STOP_REQUESTED.set()
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_signals() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the recording loop (and are remembered)."""
    STOP_REQUESTED.clear()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)


@contextmanager
def deferred_interrupts():
    """Hold SIGINT/SIGTERM until the block finishes, then deliver them (as KeyboardInterrupt)."""
    received: list[int] = []

    def hold(signum, _frame):
        received.append(signum)
        STOP_REQUESTED.set()

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            raise KeyboardInterrupt(f"signal {received[0]} during save (the episode was saved)")


@contextmanager
def quiet_datasets_progress():
    """No `datasets` progress bar ("Map: 100%") per saved episode; restored afterwards."""
    from datasets.utils import logging as datasets_logging

    was_enabled = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            datasets_logging.enable_progress_bar()


class DatasetRecorder:
    """Adds frames and saves or discards episodes of a LeRobot v3 dataset at `root`.

    `features` come from `vla.data.features.so101_features`. An existing dataset at `root` is resumed
    (after repairing an episode a crash left unfinished); a new one is created otherwise, when `root` does
    not exist or is an empty folder. A dataset this recorder created is removed again by `close()` if no
    episode was saved into it, so a command that fails before its first episode leaves nothing half-made.
    """

    def __init__(
        self,
        root: Path,
        fps: int,
        features: dict[str, dict],
        robot_type: str = ROBOT_TYPE,
        repo_id: str | None = None,
        vcodec: str = "libsvtav1",
        settings: WriterSettings = DURABLE,
    ):
        from lerobot.configs.video import RGBEncoderConfig
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        self.root = Path(root)
        self.repo_id = repo_id or f"local/{self.root.name}"
        self.fps = fps
        self.settings = settings
        self.cameras = [key for key, ft in features.items() if ft["dtype"] in ("video", "image")]
        self.save_seconds: list[float] = []
        self._frames_in_episode = 0
        encoder = RGBEncoderConfig(vcodec=vcodec)
        common = {
            "video_backend": VIDEO_BACKEND,
            "streaming_encoding": settings.streaming_encoding,
            "rgb_encoder": encoder,
            # Two cores: one for the simulation, the encoder threads share the other.
            "encoder_threads": 1,
            "encoder_queue_maxsize": ENCODER_QUEUE_FRAMES,
        }
        file_sizes = (
            {"data_files_size_in_mb": PER_EPISODE_FILE_MB, "video_files_size_in_mb": PER_EPISODE_FILE_MB}
            if settings.per_episode_files
            else {}
        )
        self.created = False  # True: `root` is this recorder's own new dataset
        self.removed_empty = False  # set by close(): the new dataset got no episode and was removed
        if (self.root / "meta" / "info.json").exists():
            from vla.data.repair import repair_dataset

            self.repair_report = repair_dataset(self.root)
            self.dataset = LeRobotDataset.resume(self.repo_id, root=self.root, **common)
            self._check_features_match(features)
        else:
            self._was_empty_folder = self._check_new_root()
            if self._was_empty_folder:
                self.root.rmdir()  # lerobot creates the folder itself and refuses an existing one
            self.created = True
            self.repair_report = None
            self.dataset = LeRobotDataset.create(
                self.repo_id,
                fps=fps,
                features=features,
                root=self.root,
                robot_type=robot_type,
                metadata_buffer_size=1 if settings.close_after_save else 10,
                # Without streaming, frames go to PNGs first; lerobot-record's default is 4 writer threads.
                image_writer_threads=0 if settings.streaming_encoding else 4,
                **file_sizes,
                **common,
            )

    def _check_new_root(self) -> bool:
        """Whether `root` is an existing empty folder; a file or a non-empty folder that is not a dataset
        raises, naming it, before anything is written."""
        from vla.runtime.errors import BadInputError

        if not self.root.exists():
            return False
        if self.root.is_dir() and not any(self.root.iterdir()):
            return True
        raise BadInputError(
            f"{self.root} exists and is not a LeRobot dataset (no meta/info.json): give a new folder, or an "
            "existing dataset to add episodes to"
        )

    def _check_features_match(self, features: dict[str, dict]) -> None:
        existing = self.dataset.meta.features
        if ENVIRONMENT_STATE in features and ENVIRONMENT_STATE not in existing:
            # A dataset recorded before the simulator's object positions were: resume it without them.
            print(f"{self.root}: resuming a dataset without {ENVIRONMENT_STATE}; it is not recorded")
            features = {key: ft for key, ft in features.items() if key != ENVIRONMENT_STATE}
        for key, ft in features.items():
            if key not in existing:
                raise ValueError(f"{self.root}/meta/info.json: existing dataset has no feature {key!r}")
            if tuple(existing[key]["shape"]) != tuple(ft["shape"]):
                raise ValueError(
                    f"{self.root}/meta/info.json: feature {key!r} has shape {tuple(existing[key]['shape'])},"
                    f" this recording produces {tuple(ft['shape'])}"
                )
        if self.dataset.meta.fps != self.fps:
            raise ValueError(
                f"{self.root}/meta/info.json: fps is {self.dataset.meta.fps}, recording at {self.fps}"
            )

    @property
    def num_episodes(self) -> int:
        return self.dataset.meta.total_episodes

    @property
    def num_frames(self) -> int:
        return self.dataset.meta.total_frames

    @property
    def frames_in_episode(self) -> int:
        return self._frames_in_episode

    @property
    def records_environment_state(self) -> bool:
        return ENVIRONMENT_STATE in self.dataset.meta.features

    def add_frame(
        self,
        images: dict[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        task: str,
        environment_state: np.ndarray | None = None,
    ) -> None:
        """One time step: camera name -> (H, W, 3) uint8, state and action (6,) float32, the instruction;
        `environment_state` (the simulator's object positions) when the dataset records it."""
        if STOP_REQUESTED.is_set():
            raise KeyboardInterrupt("stop requested")  # an earlier interrupt was swallowed on its way up
        frame = {
            OBS_STATE: np.asarray(state, dtype=np.float32),
            ACTION: np.asarray(action, dtype=np.float32),
            "task": task,
        }
        if self.records_environment_state:
            if environment_state is None:
                raise ValueError(f"{self.root}: the dataset records {ENVIRONMENT_STATE}; this frame has none")
            frame[ENVIRONMENT_STATE] = np.asarray(environment_state, dtype=np.float32)
        for camera, image in images.items():
            frame[camera_key(camera)] = image
        self.dataset.add_frame(frame)
        self._frames_in_episode += 1

    def save_episode(self) -> float:
        """Write the current episode durably. Returns the seconds the save blocked the caller."""
        if self._frames_in_episode == 0:
            raise ValueError("cannot save an empty episode: add frames first")
        self._refuse_dropped_frames()
        start = time.perf_counter()
        with deferred_interrupts(), quiet_datasets_progress():
            self.dataset.save_episode()
            if self.settings.close_after_save:
                self.dataset.writer.close_writer()  # parquet footer written: the data file is complete
                self.dataset.meta._close_writer()  # episode metadata flushed and closed likewise
        elapsed = time.perf_counter() - start
        self.save_seconds.append(elapsed)
        self._frames_in_episode = 0
        return elapsed

    def _refuse_dropped_frames(self) -> None:
        """An episode whose video lost frames (the encoder fell `ENCODER_QUEUE_FRAMES` behind) would be saved
        with fewer video frames than rows: discard it and say so, before anything of it is written."""
        encoder = getattr(self.dataset.writer, "_streaming_encoder", None)  # lerobot has no public getter
        dropped = {key: n for key, n in getattr(encoder, "_dropped_frames", {}).items() if n}
        if dropped:
            frames = self._frames_in_episode
            self.discard_episode()
            detail = ", ".join(f"{n} of {frames} frames of {key}" for key, n in dropped.items())
            raise RuntimeError(
                f"{self.root}: episode not saved: the video encoder dropped {detail} (the machine could not "
                "keep up); the episodes saved before it are intact. Record it again, with less load."
            )

    def discard_episode(self) -> None:
        """Drop the frames of the current episode (nothing of it reaches the dataset)."""
        self.dataset.clear_episode_buffer()
        self._frames_in_episode = 0

    def close(self) -> None:
        """Drop an unfinished episode and finalize the dataset (idempotent). A dataset this recorder
        created and saved no episode into is removed (an empty folder it started from is left empty)."""
        if self._frames_in_episode:
            self.discard_episode()
        if not self.dataset._is_finalized:
            self.dataset.finalize()
        if self.created and self.num_episodes == 0 and self.root.exists():
            shutil.rmtree(self.root)
            if self._was_empty_folder:
                self.root.mkdir()
            self.removed_empty = True

    def __enter__(self) -> DatasetRecorder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
