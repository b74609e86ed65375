"""Keyboard teleoperation driven through a pseudo-terminal, as a user at a terminal would."""

from __future__ import annotations

import sys
from pathlib import Path

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
    session.expect("episode 1 +saved 0")
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


def test_needs_a_terminal(tmp_path):
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "vla", "record", "--source", "keyboard", "--root", str(tmp_path / "x")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "needs an interactive terminal" in result.stderr
