"""Training on a stream of expert episodes: the ring that holds the newest episodes on the training
device, the worker processes that render them, and `vla train --data.stream.suite` end to end."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sim.tasks import suite_tasks
from vla.models.normalization import Normalization
from vla.training.ring import FrameRing
from vla.training.stream import ExpertStream, StreamConfig, suite_instructions

KEYS = ["observation.images.front", "observation.images.wrist"]


def _episode(length: int, first_value: float, task: str) -> dict:
    """Frames and state carry `first_value + step`, so every sample names the episode step it came from."""
    values = first_value + np.arange(length, dtype=np.float32)
    image = np.broadcast_to((values % 256).astype(np.uint8)[:, None, None, None], (length, 4, 4, 3))
    return {
        "images": {key: image.copy() for key in KEYS},
        "state": np.repeat(values[:, None], 2, axis=1),
        "action": np.repeat(values[:, None], 3, axis=1),
        "task": task,
    }


def _ring(capacity: int) -> FrameRing:
    # [-1, 1] onto [-1, 1]: normalisation is the identity, so batches carry the values written.
    stats = {
        name: {"min": -np.ones(dim), "max": np.ones(dim)}
        for name, dim in (("observation.state", 2), ("action", 3))
    }
    normalization = Normalization.from_lerobot_stats(stats)
    return FrameRing(capacity, KEYS, (4, 4, 3), 2, 3, 4, ["a", "b"], normalization, torch.device("cpu"))


def test_ring_overwrites_the_oldest_episodes_whole():
    ring = _ring(capacity=25)
    ring.add(_episode(10, 0.0, "a"))
    ring.add(_episode(10, 100.0, "b"))
    assert len(ring) == 20 and list(ring.episodes) == [(0, 10), (10, 20)]
    # 10 more frames do not fit before the end: the write wraps to slot 0 and drops the first episode,
    # while the second (slots 10-19) stays whole.
    ring.add(_episode(10, 200.0, "a"))
    assert list(ring.episodes) == [(10, 20), (0, 10)] and len(ring) == 20
    # The next goes after it, into slots 10-12: the episode there goes whole, not just those slots.
    ring.add(_episode(3, 300.0, "b"))
    assert list(ring.episodes) == [(0, 10), (10, 13)] and len(ring) == 13
    assert ring.episodes_added == 4 and ring.frames_added == 33


def test_ring_batches_hold_each_frames_own_chunk_and_task():
    ring = _ring(capacity=25)
    for first, task in ((0.0, "a"), (100.0, "b"), (200.0, "a")):
        ring.add(_episode(10, first, task))
    batch = ring.sample(256, torch.Generator().manual_seed(0))
    assert batch["images"].shape == (256, 2, 3, 4, 4) and batch["images"].dtype == torch.uint8
    state = batch["state"][:, 0]
    assert set(np.unique(state.numpy() // 100)) == {1, 2}  # episode 0 was overwritten
    for row in range(256):
        value, step = float(state[row]), float(state[row]) % 100
        steps = step + np.arange(4)
        expected = np.minimum(value + np.arange(4), value - step + 9)  # clamped at the episode's last frame
        assert np.allclose(batch["actions"][row, :, 0].numpy(), expected)
        assert batch["action_is_pad"][row].tolist() == (steps > 9).tolist()
        assert int(batch["images"][row, 1, 0, 0, 0]) == int(value) % 256
        assert ring.tasks[int(batch["task_index"][row])] == ("b" if value < 200 else "a")


def test_ring_rejects_what_it_cannot_hold():
    ring = _ring(capacity=8)
    with pytest.raises(ValueError, match="does not fit"):
        ring.add(_episode(9, 0.0, "a"))
    with pytest.raises(KeyError, match="'c'"):
        ring.add(_episode(4, 0.0, "c"))
    with pytest.raises(RuntimeError, match="no episodes"):
        ring.sample(2, torch.Generator())


def test_stream_takes_jobs_round_robin_over_the_tasks():
    tasks = suite_tasks("tabletop")
    stream = ExpertStream(
        StreamConfig(suite="tabletop", workers=1, capacity=1_000, start_frames=1, first_job=1)
    )
    try:
        first = stream.take(wait=True)  # job 1: the suite's second task, two successful episodes
        while len(first) < 4:
            first += stream.take(wait=True)  # and job 2, the third task
    finally:
        stream.close()
    expected = [{t.format(**task.slots) for t in task.templates("train")} for task in tasks[1:3]]
    assert all(e["task"] in expected[0] for e in first[:2]) and all(
        e["task"] in expected[1] for e in first[2:4]
    )
    assert stream.jobs_done >= 3
    for episode in first:
        length = len(episode["state"])
        assert episode["images"]["observation.images.front"].shape == (length, 128, 128, 3)
        assert episode["action"].shape == (length, 6)
    assert set(suite_instructions("tabletop")) >= {e["task"] for e in first}


def test_vla_train_streams_and_resumes_the_stream(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "vla", "train", "--data.stream.suite", "tabletop", "--run.out", str(out)]
    command += [
        "--policy.model",
        "debug",
        "--optim.batch_size",
        "8",
        "--run.device",
        "cpu",
        "--run.save_every",
        "10",
    ]
    command += ["--data.stream.capacity", "600", "--data.stream.start_frames", "100"]
    result = subprocess.run(command + ["--optim.steps", "10"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "streaming tabletop expert episodes from 1 worker(s)" in result.stdout
    state = json.loads((out / "checkpoints" / "last" / "training_state.json").read_text())
    assert state["step"] == 10 and state["stream_next_job"] >= 1 and state["stream_episodes"] >= 2
    resumed = subprocess.run(
        command + ["--optim.steps", "20", "--run.resume"], capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    after = json.loads((out / "checkpoints" / "last" / "training_state.json").read_text())
    assert after["step"] == 20 and after["stream_next_job"] > state["stream_next_job"]


def test_vla_train_needs_a_dataset_or_a_stream(tmp_path):
    neither = [sys.executable, "-m", "vla", "train", "--run.out", str(tmp_path / "run")]
    result = subprocess.run(neither, capture_output=True, text=True)
    assert (
        result.returncode == 2
        and "train on --data.dataset, on --data.stream.suite, or on both" in result.stderr
    )


def test_a_baseline_trains_on_the_same_stream(tmp_path):
    from vla.baselines.lerobot_policies import is_lerobot_policy_folder
    from vla.baselines.train import train_baseline
    from vla.config_cli import parse
    from vla.training.train_config import TrainConfig

    options = ["--policy.kind", "act", "--run.out", str(tmp_path / "act"), "--run.device", "cpu"]
    options += ["--optim.steps", "2", "--optim.batch_size", "2", "--data.stream.suite", "tabletop"]
    options += ["--data.stream.capacity", "600", "--data.stream.start_frames", "100"]
    summary = train_baseline(parse(TrainConfig, options, {}))
    assert summary["steps"] == 2 and np.isfinite(summary["final_loss"])
    assert summary["frames"] >= 100  # the stream's episodes, counted as they went into the ring
    assert is_lerobot_policy_folder(tmp_path / "act" / "checkpoints" / "last")


def test_the_stream_cuts_absent_object_demonstrations_to_the_frames_training_keeps():
    """The expert holds still for an absent-object task's whole time limit (338 frames), and training keeps
    its first HELD_FRAMES_TRAINED: the stream renders no more than those, and acting episodes stay whole."""
    from vla.training.abstain_labels import HELD_FRAMES_TRAINED, episode_holds_still
    from vla.training.stream import stream_tasks

    config = StreamConfig(
        suite="tabletop_compose", workers=1, capacity=2_000, start_frames=1, absent_share=0.5
    )
    tasks = stream_tasks(config)
    first_absent = next(n for n, task in enumerate(tasks) if task.startswith("absent_"))
    acting = next(n for n in range(first_absent + 1, len(tasks)) if not tasks[n].startswith("absent_"))
    episodes = {}
    for job in (first_absent, acting):
        stream = ExpertStream(dataclasses.replace(config, first_job=job))
        try:
            episodes[job] = stream.take(wait=True)
        finally:
            stream.close()
    assert len(episodes[first_absent]) == 2
    for episode in episodes[first_absent]:
        assert len(episode["state"]) == HELD_FRAMES_TRAINED and episode_holds_still(episode["action"])
        assert episode["images"]["observation.images.front"].shape[0] == HELD_FRAMES_TRAINED
    assert all(len(e["state"]) > HELD_FRAMES_TRAINED for e in episodes[acting])
    assert not any(episode_holds_still(e["action"]) for e in episodes[acting])
