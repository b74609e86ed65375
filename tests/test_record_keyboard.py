"""Keyboard teleoperation driven through a pseudo-terminal, as a user at a terminal would."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pexpect
import pytest

from vla.data import VIDEO_BACKEND


def spawn(root: Path, *extra: str) -> pexpect.spawn:
    args = [
        "-m",
        "vla",
        "record",
        "--source",
        "keyboard",
        "--task",
        "pick_red_cube",
        "--root",
        str(root),
        *extra,
    ]
    return pexpect.spawn(sys.executable, args, encoding="utf-8", timeout=90, dimensions=(40, 200))


@pytest.mark.slow
def test_teleop_session_saves_discards_and_rerecords(tmp_path):
    root = tmp_path / "teleop"
    session = spawn(root, "--episodes", "1")
    session.expect("task: pick_red_cube")
    session.expect(r"episode 1 +saved 0 .*step \d+/5400 ")  # 180 s for a person, not the task's 8 (240 steps)
    for key in "wwwaff ":
        session.send(key)
    session.send("R")
    session.expect("re-recording the same layout")
    session.send("D")
    session.expect("last episode: discarded")
    session.send("p")  # the scripted expert takes over
    session.expect("autopilot on")
    session.expect("task succeeded", timeout=120)
    session.send("S")
    session.expect(r"stopped: 1 episode\(s\) saved, 2 discarded")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(repo_id="local/teleop", root=root, video_backend=VIDEO_BACKEND)
    assert dataset.num_episodes == 1
    assert "red" in dataset[0]["task"]


def test_stop_key_without_saving(tmp_path):
    root = tmp_path / "stopped"
    session = spawn(root)
    session.expect("status: recording")
    session.send("X")
    session.expect(r"stopped: 0 episode\(s\) saved")
    session.expect(pexpect.EOF)
    session.close()
    assert session.exitstatus == 0
    assert not root.exists()  # stopped before any episode: no empty dataset left behind


def record_without_a_terminal(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vla", "record", "--source", "keyboard", "--root", str(root), *extra],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_needs_a_terminal_and_writes_nothing(tmp_path):
    root = tmp_path / "x"
    result = record_without_a_terminal(root)
    assert result.returncode == 2
    assert "needs an interactive terminal" in result.stderr and "Traceback" not in result.stderr
    assert not root.exists()  # no half-made dataset (meta/info.json) left behind


def test_a_bad_episode_limit_is_refused_before_anything_is_written(tmp_path):
    root = tmp_path / "x"
    result = record_without_a_terminal(root, "--episode-seconds", "0")
    assert result.returncode != 0 and "--episode-seconds must be > 0" in result.stderr
    assert "Traceback" not in result.stderr and not root.exists()


def tiny_recorder(root: Path):
    from vla.data.features import so101_features
    from vla.data.recorder import DatasetRecorder

    return DatasetRecorder(root, fps=30, features=so101_features({"front": (16, 16), "wrist": (16, 16)}))


def add_frames(recorder, count: int = 3) -> None:
    image = np.zeros((16, 16, 3), np.uint8)
    for i in range(count):
        recorder.add_frame({"front": image, "wrist": image}, np.full(6, i, np.float32), np.ones(6), "pick")


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_an_existing_dataset_stays_intact_without_a_terminal(recorded_dataset, tmp_path):
    """A dataset `vla record` wrote (same cameras and features as a keyboard recording) is not opened,
    repaired or finalized by a keyboard session that cannot start: every file stays byte for byte."""
    root = Path(shutil.copytree(recorded_dataset, tmp_path / "kept"))
    before = file_digests(root)
    result = record_without_a_terminal(root)
    assert result.returncode == 2 and "needs an interactive terminal" in result.stderr
    assert file_digests(root) == before


def test_a_new_dataset_without_episodes_is_removed_on_close(tmp_path):
    """A recording that fails or stops before its first saved episode leaves nothing half-made; one that
    saved an episode keeps it, and an empty folder it was given stays an empty folder."""
    root = tmp_path / "new"
    with pytest.raises(RuntimeError, match="the source failed"), tiny_recorder(root) as recorder:
        add_frames(recorder)  # an unfinished episode, then the failure
        raise RuntimeError("the source failed")
    assert not root.exists() and recorder.removed_empty

    given = tmp_path / "given"
    given.mkdir()
    tiny_recorder(given).close()
    assert given.is_dir() and not any(given.iterdir())

    with tiny_recorder(root) as recorder:
        add_frames(recorder)
        recorder.save_episode()
    assert (root / "meta" / "info.json").is_file() and not recorder.removed_empty


def test_a_folder_that_is_no_dataset_is_refused_untouched(tmp_path):
    from vla.runtime import BadInputError

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BadInputError, match="exists and is not a LeRobot dataset"):
        tiny_recorder(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
