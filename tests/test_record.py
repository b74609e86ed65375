"""`vla record` as users run it: processes writing LeRobot v3 datasets that LeRobot itself reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vla.data import VIDEO_BACKEND

VLA = [sys.executable, "-m", "vla"]
TASKS = ["pick_red_cube", "push_green_cube_right"]


def load(root: Path, **kwargs):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(repo_id=f"local/{root.name}", root=root, video_backend=VIDEO_BACKEND, **kwargs)


def total_episodes(root: Path) -> int:
    try:
        return json.loads((root / "meta" / "info.json").read_text())["total_episodes"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


@pytest.fixture(scope="module")
def expert_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("record") / "expert"
    command = [*VLA, "record", "--source", "expert", "--episodes-per-task", "1", "--root", str(root)]
    for task in TASKS:
        command += ["--task", task]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "save_episode blocked for" in result.stdout
    return root


def test_expert_recording_is_a_lerobot_dataset(expert_dataset):
    dataset = load(expert_dataset, delta_timestamps={"action": [i / 30 for i in range(10)]})
    assert dataset.num_episodes == 2
    assert dataset.meta.robot_type == "so101_follower"
    assert dataset.fps == 30
    assert dataset.meta.features["action"]["names"][0] == "shoulder_pan.pos"
    sample = dataset[7]
    assert sample["action"].shape == (10, 6)  # a chunk through delta_timestamps
    assert sample["observation.state"].shape == (6,)
    for camera in ("front", "wrist"):
        image = sample[f"observation.images.{camera}"]
        assert image.shape == (3, 128, 128) and float(image.max()) <= 1.0
    tasks = {dataset[int(i)]["task"] for i in (0, len(dataset) - 1)}
    assert any("red" in t for t in tasks) and any("green" in t for t in tasks)


def test_recorded_actions_replay_to_success(expert_dataset):
    """The saved actions are the demonstration: replayed open-loop from the same seed they succeed."""
    from sim.env import TabletopEnv

    dataset = load(expert_dataset)
    first = dataset.meta.episodes[0]
    actions = np.stack(
        [
            dataset.hf_dataset[i]["action"].numpy()
            for i in range(first["dataset_from_index"], first["dataset_to_index"])
        ]
    )
    env = TabletopEnv(task=TASKS[0])
    try:
        env.reset(seed=100_000)  # the recorder's first seed (DEFAULT_RECORD_SEED)
        for action in actions:
            _, _, terminated, _, _ = env.step(action)
        assert terminated
    finally:
        env.close()


@pytest.mark.slow
def test_lerobot_train_act_then_lerobot_eval_on_the_tabletop_env(expert_dataset, tmp_path):
    """LeRobot's own tools end to end: lerobot-train ACT on the recording, then lerobot-eval on our env."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    train = [
        str(bin_dir / "lerobot-train"), f"--dataset.repo_id=local/{expert_dataset.name}",
        f"--dataset.root={expert_dataset}", f"--dataset.video_backend={VIDEO_BACKEND}", "--policy.type=act",
        "--policy.device=cpu", "--policy.push_to_hub=false", "--policy.pretrained_backbone_weights=null",
        "--policy.chunk_size=10", "--policy.n_action_steps=10", "--policy.dim_model=64",
        "--policy.dim_feedforward=128", "--steps=3", "--batch_size=2", "--num_workers=0",
        f"--output_dir={tmp_path / 'act'}", "--wandb.enable=false", "--save_checkpoint=true", "--save_freq=3",
        "--log_freq=1",
    ]  # fmt: skip
    result = subprocess.run(train, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "step:3" in result.stderr + result.stdout
    policy = tmp_path / "act" / "checkpoints" / "000003" / "pretrained_model"
    evaluate = [
        str(bin_dir / "lerobot-eval"), f"--policy.path={policy}", "--env.type=tabletop",
        "--env.task=pick_red_cube", "--eval.n_episodes=1", "--eval.batch_size=1", "--policy.device=cpu",
        f"--output_dir={tmp_path / 'eval'}",
    ]  # fmt: skip
    result = subprocess.run(evaluate, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == 1


def record_arguments(root: Path, episodes: int) -> list[str]:
    """`vla record` of the scripted expert's pick_red_cube episodes into `root`."""
    task = ["--task", "pick_red_cube", "--episodes-per-task", str(episodes)]
    return ["record", "--source", "expert", *task, "--root", str(root)]


def start_recording(root: Path, episodes: int) -> subprocess.Popen:
    command = [*VLA, *record_arguments(root, episodes)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_episodes(process: subprocess.Popen, root: Path, count: int, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while total_episodes(root) < count:
        assert process.poll() is None, process.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "recording too slow"
        time.sleep(0.05)


def wait_for_next_episode_to_record(process: subprocess.Popen, root: Path, timeout_s: float = 240) -> None:
    """Until an episode is being recorded: its streaming video exists in `root/tmp*/`. lerobot moves a saved
    episode's video out of its tmp folder before counting it in info.json, and starts the next one's at that
    episode's first frame, after the save (and our closing of its files) returned, so from this moment the
    process is outside any save for about an episode's length (~1 s for the expert's pick here)."""
    deadline = time.monotonic() + timeout_s
    while not list(root.glob("tmp*/*_streaming.mp4")):
        assert process.poll() is None, process.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "recording too slow"
        time.sleep(0.005)


def test_killed_recording_keeps_saved_episodes(tmp_path):
    root = tmp_path / "killed"
    process = start_recording(root, episodes=20)
    wait_for_episodes(process, root, 2)
    # Not a fixed sleep: an episode takes ~1 s, so a sleep can land in the next save, where a SIGKILL
    # leaves a parquet file without its footer (`vla data check --repair`, tests/test_data_check.py).
    wait_for_next_episode_to_record(process, root)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    saved = total_episodes(root)
    assert saved >= 2
    dataset = load(root)  # loads as it is, no repair needed
    assert dataset.num_episodes == saved
    last = dataset.meta.episodes[saved - 1]
    frame = dataset[last["dataset_to_index"] - 1]  # last frame of the last saved episode decodes
    assert frame["observation.images.front"].shape == (3, 128, 128)

    # Recording resumes into the same folder; the new episodes follow the old ones.
    resumed = start_recording(root, episodes=1)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    assert load(root).num_episodes == saved + 1


def test_ctrl_c_drops_only_the_unfinished_episode(tmp_path):
    root = tmp_path / "interrupted"
    process = start_recording(root, episodes=20)
    wait_for_episodes(process, root, 1)
    time.sleep(0.7)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted" in stderr
    saved = total_episodes(root)
    assert load(root).num_episodes == saved >= 1
    assert not list(root.glob("tmp*")), "the unfinished episode's temporary video was left behind"


@pytest.mark.parametrize("interrupted", [True, False])
def test_an_error_raised_by_ctrl_c_still_ends_as_the_interrupt(tmp_path, monkeypatch, interrupted):
    """Ctrl-C landing inside a native call (mujoco's EGL eglMakeCurrent, seen in a test run) can surface as
    that call's own error: with a stop requested it ends as the interrupt (exit 130, saved episodes kept);
    without one the error is the user's to see."""
    from vla import cli_record
    from vla.cli import build_parser
    from vla.data import recorder

    record_episodes = cli_record._record_expert

    def record_then_fail(args, env, dataset, tasks):
        record_episodes(args, env, dataset, tasks)  # one saved episode
        if interrupted:
            recorder.STOP_REQUESTED.set()
        raise RuntimeError("Failed to make the EGL context current.")

    monkeypatch.setattr(cli_record, "_record_expert", record_then_fail)
    root = tmp_path / "surfaced"
    args = build_parser().parse_args(record_arguments(root, episodes=1))
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if interrupted:
            assert cli_record.run_record(args) == 130
        else:
            with pytest.raises(RuntimeError, match="EGL context"):
                cli_record.run_record(args)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        recorder.STOP_REQUESTED.clear()
    assert load(root).num_episodes == 1
