"""`vla train` on a real (tiny) recorded dataset: checkpoints, resume, a clean stop on SIGTERM, inference in
the simulator, DDP."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

VLA = [sys.executable, "-m", "vla"]


@pytest.fixture
def dataset(recorded_dataset) -> Path:
    return recorded_dataset


def train_command(dataset: Path, out: Path, *extra: str) -> list[str]:
    return [
        *VLA,
        "train",
        "--data.dataset",
        str(dataset),
        "--run.out",
        str(out),
        "--policy.model",
        "debug",
        "--optim.batch_size",
        "8",
        "--run.log_every",
        "5",
        "--run.device",
        "cpu",
        *extra,
    ]


def run_train(dataset: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(train_command(dataset, out, *extra), capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_checkpoint_resume_and_infer(dataset, tmp_path):
    out = tmp_path / "run"
    first = run_train(dataset, out, "--optim.steps", "10", "--run.save_every", "5")
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoints = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert checkpoints == ["last", "step_0000005", "step_0000010"]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    resumed = run_train(dataset, out, "--optim.steps", "15", "--run.save_every", "5", "--run.resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    state = json.loads((out / "checkpoints" / "last" / "training_state.json").read_text())
    assert state["step"] == 15

    import sim  # noqa: F401
    from sim.env import TabletopEnv
    from vla.evaluation.policies import policy_observation
    from vla.policy import VLAPolicy

    policy = VLAPolicy.from_checkpoint(out / "checkpoints" / "last")
    env = TabletopEnv(task="pick_red_cube")
    try:
        obs, info = env.reset(seed=0)
        policy.reset()
        chunk = policy.infer(policy_observation(obs, info["task_description"]))
        assert chunk["actions"].shape == (policy.config.chunk_length, 6)
        assert np.isfinite(chunk["actions"]).all()
        for action in chunk["actions"]:
            env.step(action)  # the env accepts the policy's actions as they are
    finally:
        env.close()


@pytest.mark.slow
def test_sigterm_saves_the_step_reached_and_stops(dataset, tmp_path):
    """A preempted run (SIGTERM, or Ctrl-C) saves where it is, not at its last save, and exits 0."""
    out, log = tmp_path / "run", tmp_path / "train.log"
    command = train_command(dataset, out, "--optim.steps", "100000", "--run.save_every", "100000")
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            give_up = time.monotonic() + 300  # a hang guard, not a speed requirement
            while not re.search(r"\| *[1-9]\d*/100000", log.read_text()):  # tqdm: a step has run
                assert process.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < give_up, "no training step within 300 s"
                time.sleep(0.2)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
        finally:
            process.kill()
    state = json.loads((out / "checkpoints" / "last" / "training_state.json").read_text())
    assert 1 <= state["step"] < 100000
    assert (out / "checkpoints" / f"step_{state['step']:07d}" / "model.safetensors").is_file()
    assert f"stopped at step {state['step']} of 100000 by SIGTERM" in log.read_text()


def test_stop_at_step_saves_there_on_the_longer_schedule(dataset, tmp_path):
    """--optim.stop_at_step ends a run part-way through its schedule, as a recipe continuing from it needs."""
    out = tmp_path / "run"
    result = run_train(
        dataset, out, "--optim.steps", "100", "--optim.stop_at_step", "7", "--run.save_every", "1000"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads((out / "checkpoints" / "last" / "training_state.json").read_text())
    assert state["step"] == 7 and state["train_config"]["optim"]["steps"] == 100
    assert "stopped at step 7 of 100: --optim.stop_at_step" in result.stdout


def test_train_rejects_a_folder_that_is_not_a_dataset(tmp_path):
    result = run_train(tmp_path, tmp_path / "run", "--optim.steps", "1")
    assert result.returncode == 2
    assert "not a LeRobot dataset (no meta/info.json)" in result.stderr


@pytest.mark.slow
def test_ddp_two_cpu_ranks_hold_identical_weights(dataset, tmp_path):
    out = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        str(Path(__file__).parent / "ddp_probe.py"),
        str(dataset),
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    digests = [(out / f"rank{r}.sha256").read_text() for r in (0, 1)]
    assert digests[0] == digests[1]
