"""`vla train` on a real (tiny) recorded dataset: checkpoints, resume, inference in the simulator, DDP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

VLA = [sys.executable, "-m", "vla"]


@pytest.fixture
def dataset(recorded_dataset) -> Path:
    return recorded_dataset


def run_train(dataset: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        *VLA,
        "train",
        "--dataset",
        str(dataset),
        "--out",
        str(out),
        "--preset",
        "debug",
        "--batch-size",
        "8",
        "--log-every",
        "5",
        "--device",
        "cpu",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_train_checkpoint_resume_and_infer(dataset, tmp_path):
    out = tmp_path / "run"
    first = run_train(dataset, out, "--steps", "10", "--save-every", "5")
    assert first.returncode == 0, first.stderr[-3000:]
    checkpoints = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert checkpoints == ["last", "step_0000005", "step_0000010"]
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    resumed = run_train(dataset, out, "--steps", "15", "--save-every", "5", "--resume")
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


def test_train_rejects_a_folder_that_is_not_a_dataset(tmp_path):
    result = run_train(tmp_path, tmp_path / "run", "--steps", "1")
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
