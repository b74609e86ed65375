"""`vla bench record`: end-to-end recording speed and save_episode blocking time."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WRITER_LABELS = {
    "durable": "vla record (streaming encoding, one file per episode)",
    "lerobot_defaults": "LeRobotDataset.create defaults (PNG + encode on save, appended files)",
}


@dataclass(frozen=True)
class RecordingSpeed:
    label: str
    episodes: int
    frames: int
    frames_per_s: float
    save_mean_s: float
    save_p50_s: float
    save_max_s: float
    save_last_s: float


def measure_recording(setting: str, episodes: int) -> RecordingSpeed:
    """Record `episodes` expert episodes (cycling the suite, fixed seeds) with a writer setting."""
    import sim  # noqa: F401
    from sim.env import TabletopEnv
    from sim.tasks import suite_tasks
    from vla.data.features import so101_features
    from vla.data.recorder import DURABLE, LEROBOT_DEFAULTS, DatasetRecorder
    from vla.record_expert import record_expert_demonstrations

    settings = {"durable": DURABLE, "lerobot_defaults": LEROBOT_DEFAULTS}[setting]
    tasks = [task.name for task in suite_tasks("tabletop")]
    tasks = (tasks * (episodes // len(tasks) + 1))[:episodes]
    with tempfile.TemporaryDirectory() as tmp:
        env = TabletopEnv()
        cameras = {name: (env.config.image_height, env.config.image_width) for name in env.rig.cameras}
        recorder = DatasetRecorder(Path(tmp) / "bench", 30, so101_features(cameras), settings=settings)
        try:
            summary = record_expert_demonstrations(env, recorder, tasks, 1, first_seed=100_000)
        finally:
            recorder.close()
            env.close()
    saves = np.array(summary.save_seconds)
    return RecordingSpeed(
        WRITER_LABELS[setting],
        summary.episodes,
        summary.frames,
        summary.frames_per_second,
        float(saves.mean()),
        float(np.median(saves)),
        float(saves.max()),
        float(saves[-1]),
    )
