"""LeRobot's own command-line tools on the simulated SO-101, as a robot owner runs them on the real one
(docs/lerobot.md): teleoperate, record, replay, rollout and eval, as subprocesses at tiny sizes, and a
real-arm command without its serial port."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "policies" / "tabletop_nano"
SIM_ROBOT = ("--robot.type=tabletop_sim", "--robot.id=sim", "--robot.task=pick_red_cube", "--robot.seed=0")
EXPERT_TELEOP = ("--teleop.type=tabletop_keyboard", "--teleop.autopilot=true")
NO_PROMPTS = ("--play_sounds=false",)


def _lerobot(tool: str, *args: str, home: Path, timeout_s: int = 400) -> tuple[int, str]:
    """Run `lerobot-<tool>` (its installed entry point) with no TTY; (exit code, stdout + stderr)."""
    executable = Path(sys.executable).with_name(f"lerobot-{tool}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_LEROBOT_HOME": str(home), "MUJOCO_GL": "egl"}
    result = subprocess.run(
        [str(executable), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        cwd=REPO,
    )
    return result.returncode, result.stdout + result.stderr


def _sim_log(output: str) -> tuple[list[float], int, int, list[float]]:
    """From the sim robot's log lines: (joints at the first layout, control steps, successful episodes,
    joints at disconnect); joints in degrees (gripper %)."""
    first = re.search(r"\(seed \d+\), instruction .*; joints (\[.*\])", output)
    last = re.search(
        r"disconnected after (\d+) control steps; (\d+) episode\(s\) succeeded; joints (\[.*\])", output
    )
    assert first and last, output[-3000:]
    return json.loads(first[1]), int(last[1]), int(last[2]), json.loads(last[3])


def test_teleoperate_drives_the_sim_robot(tmp_path):
    code, output = _lerobot(
        "teleoperate", *SIM_ROBOT, *EXPERT_TELEOP, "--fps=30", "--teleop_time_s=3", home=tmp_path
    )
    assert code == 0, output[-3000:]
    start, steps, _, end = _sim_log(output)
    assert steps > 0
    # The expert's first moves lower the arm towards the cube: some joint moved by more than a degree.
    assert max(abs(a - b) for a, b in zip(start[:5], end[:5], strict=True)) > 1.0


def test_record_makes_a_checked_dataset_and_replay_repeats_the_episode(tmp_path):
    root = tmp_path / "sim_teleop"
    code, output = _lerobot(
        "record",
        *SIM_ROBOT,
        *EXPERT_TELEOP,
        "--dataset.repo_id=local/sim_teleop",
        f"--dataset.root={root}",
        "--dataset.single_task=pick up the red cube",
        "--dataset.fps=30",
        "--dataset.episode_time_s=4",
        "--dataset.num_episodes=1",
        "--dataset.push_to_hub=false",
        *NO_PROMPTS,
        home=tmp_path,
    )
    assert code == 0, output[-3000:]
    _, recorded_steps, recorded_successes, recorded_end = _sim_log(output)

    report_path = tmp_path / "check.json"
    check = subprocess.run(
        [sys.executable, "-m", "vla", "data", "check", str(root), "--json", str(report_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert report["ok"] and not report["warnings"], report
    summary = report["summary"]
    # One frame per control step the robot took (the recording loop's rate depends on the machine).
    assert summary["episodes"] == 1 and summary["fps"] == 30 and summary["frames"] == recorded_steps
    assert summary["tasks"] == {"pick up the red cube": 1}
    assert set(summary["cameras"]) == {"observation.images.front", "observation.images.wrist"}

    # The same layout (seed 0) and the recorded actions: the arm ends where it ended while recording.
    code, output = _lerobot(
        "replay",
        *SIM_ROBOT,
        "--dataset.repo_id=local/sim_teleop",
        f"--dataset.root={root}",
        "--dataset.episode=0",
        *NO_PROMPTS,
        home=tmp_path,
    )
    assert code == 0, output[-3000:]
    _, replayed_steps, replayed_successes, replayed_end = _sim_log(output)
    assert replayed_steps == recorded_steps and replayed_successes == recorded_successes
    assert max(abs(a - b) for a, b in zip(recorded_end, replayed_end, strict=True)) < 0.5, (
        recorded_end,
        replayed_end,
    )


def test_rollout_runs_the_shipped_policy_on_the_sim_robot(tmp_path):
    code, output = _lerobot(
        "rollout",
        "--strategy.type=base",
        f"--policy.path={SHIPPED}",
        *SIM_ROBOT,
        "--task=pick up the red cube",
        "--duration=3",
        "--fps=30",
        "--device=cpu",
        "--return_to_initial_position=false",
        *NO_PROMPTS,
        home=tmp_path,
    )
    assert code == 0, output[-3000:]
    assert "Rollout finished" in output, output[-3000:]
    start, steps, _, end = _sim_log(output)
    assert steps > 0
    # The policy reaches for the cube (the arm is left where the policy put it).
    assert max(abs(a - b) for a, b in zip(start[:5], end[:5], strict=True)) > 1.0


def test_eval_runs_the_shipped_policy_and_writes_its_video(tmp_path):
    import av

    out = tmp_path / "eval"
    code, output = _lerobot(
        "eval",
        "--env.type=tabletop",
        "--env.task=pick_red_cube",
        f"--policy.path={SHIPPED}",
        "--policy.device=cpu",
        "--eval.n_episodes=1",
        "--eval.batch_size=1",
        f"--output_dir={out}",
        home=tmp_path,
    )
    assert code == 0, output[-3000:]
    assert "numerator" not in output, output[-3000:]  # the float render_fps that broke PyAV
    info = json.loads((out / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == 1
    videos = sorted(out.glob("videos/**/*.mp4"))
    assert len(videos) == 1, sorted(str(p) for p in out.rglob("*"))
    with av.open(str(videos[0])) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert stream.average_rate == 30
    assert len(frames) > 10 and frames[0].shape == (128, 128, 3)
    assert max(frame.std() for frame in frames) > 5  # a rendered scene, not a blank frame


def test_so101_follower_without_its_serial_port_fails_fast_and_says_so(tmp_path):
    """What a robot owner sees with a wrong --robot.port: LeRobot's ConnectionError, not a hang."""
    port = tmp_path / "ttyACM_missing"
    code, output = _lerobot(
        "teleoperate",
        "--robot.type=so101_follower",
        f"--robot.port={port}",
        "--robot.id=follower",
        *EXPERT_TELEOP,
        "--teleop_time_s=1",
        home=tmp_path,
        timeout_s=180,
    )
    assert code != 0
    last_lines = "\n".join(output.strip().splitlines()[-3:])
    assert f"Could not connect on port '{port}'" in last_lines and "lerobot-find-port" in last_lines, output[
        -2000:
    ]
    assert shutil.which("lerobot-find-port") or Path(sys.executable).with_name("lerobot-find-port").exists()
