"""Replay while fine-tuning (vla/training/replay.py): old-skill frames mixed into every batch at a share."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch

from tests.test_frame_cache import CAMERAS, recorded_cache, tiny_train_command
from vla.config_cli import parse
from vla.training.batches import DeviceBatches
from vla.training.frames import DatasetArrays
from vla.training.replay import StreamReplayBatches, combined, replay_weights, stream_replay_rows
from vla.training.ring import FrameRing
from vla.training.stream import StreamBatches, StreamConfig
from vla.training.train_config import TRAIN_PRESETS, TrainConfig


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    """(new skill, old skills): one push_away episode, and one pick and one side push."""
    new = recorded_cache(tmp_path_factory, [("push_red_cube_away", 300_000)])
    old = recorded_cache(tmp_path_factory, [("pick_red_cube", 100_000), ("push_yellow_cube_left", 200_000)])
    return new, old


def test_combined_keeps_episodes_apart_and_weights_give_the_share(caches):
    (new, new_folder), (old, old_folder) = caches
    both = combined(new, old, new_folder, old_folder)
    offset = len(new.state)
    assert len(both.state) == offset + len(old.state) and both.tasks == new.tasks + old.tasks
    chunks, _ = both.chunk_indices(20)
    crosses = (chunks[:offset] >= offset).any() or (chunks[offset:] < offset).any()
    assert not crosses, "an action chunk runs from one dataset into the other"
    np.testing.assert_array_equal(both.frames[CAMERAS[0]][offset:], old.frames[CAMERAS[0]])
    assert both.environment_state_names == new.environment_state_names  # same scene: kept

    weights = replay_weights(offset, len(old.state), 0.25)
    assert weights.sum() == pytest.approx(1.0) and weights[offset:].sum() == pytest.approx(0.25)
    batches = DeviceBatches(both, CAMERAS, 5, torch.device("cpu"), 16, seed=0, weights=weights)
    drawn = torch.cat([batch["index"] for _ in range(20) for batch in batches])
    replayed = (drawn >= offset).float().mean().item()
    assert 0.2 < replayed < 0.3, replayed  # 0.25 of ~6,000 draws; uniform sampling would give ~0.72


def test_datasets_that_do_not_fit_together_are_refused_naming_both(caches, tmp_path):
    (new, new_folder), (old, old_folder) = caches
    narrow = DatasetArrays(
        old.state[:, :5], old.action, old.episode_start, old.episode_end, old.tasks, old.frames
    )
    with pytest.raises(ValueError, match=rf"{old_folder}.*{new_folder}: state has 5 and 6 values"):
        combined(new, narrow, new_folder, old_folder)
    without = DatasetArrays(old.state, old.action, old.episode_start, old.episode_end, old.tasks, old.frames)
    assert combined(new, without, new_folder, old_folder).environment_state is None
    dataset = ["--data.dataset", "d", "--run.out", "o", "--data.replay_dataset", "r"]
    with pytest.raises(ValueError, match=r"--data\.replay_share is a share in \(0, 1\)"):
        parse(TrainConfig, [*dataset, "--data.replay_share", "1"], TRAIN_PRESETS)
    with pytest.raises(ValueError, match=r"--data\.replay_dataset mixes into --data\.dataset alone"):
        parse(TrainConfig, ["--preset", "debug", "--data.replay_dataset", "r"], TRAIN_PRESETS)


def test_vla_train_replays_the_old_skills(caches, tmp_path):
    (_, new_folder), (_, old_folder) = caches
    out = tmp_path / "run"
    command = tiny_train_command(new_folder, out, steps=4, save_every=4, batch_size=8)
    command += ["--data.replay_dataset", str(old_folder), "--data.replay_share", "0.5"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["data"]["replay_dataset"] == str(old_folder) and saved["data"]["replay_share"] == 0.5
    tokenizer = json.loads((out / "checkpoints" / "last" / "tokenizer.json").read_text())
    vocabulary = tokenizer["model"]["vocab"]
    assert {"away", "yellow"} <= set(vocabulary)  # words of both datasets' instructions (push_yellow: old)

    no_such = ["--data.replay_dataset", str(tmp_path / "no")]
    missing = subprocess.run(
        tiny_train_command(new_folder, tmp_path / "r2", 2, 2, 8) + no_such,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert missing.returncode != 0 and "--data.replay_dataset" in missing.stderr
    assert "Traceback" not in missing.stderr and not (tmp_path / "r2" / "checkpoints").exists()


class _RecordedStream:
    """Stands in for `ExpertStream`: its episodes were rendered before, so nothing new arrives."""

    config = StreamConfig(suite="tabletop")

    def take(self) -> list[dict]:
        return []


def _episodes(arrays: DatasetArrays) -> list[dict]:
    """The episodes of `arrays` as the stream's workers hand them over."""
    episodes = []
    for start in np.unique(arrays.episode_start):
        rows = slice(start, arrays.episode_end[start])
        episodes.append(
            {
                "images": {key: frames[rows] for key, frames in arrays.frames.items()},
                "state": arrays.state[rows],
                "action": arrays.action[rows],
                "environment_state": arrays.environment_state[rows],
                "task": arrays.tasks[start],
            }
        )
    return episodes


def test_stream_replay_puts_the_streams_rows_after_the_datasets(caches):
    (new, _), (old, _) = caches
    assert stream_replay_rows(32, 0.5) == 16 and stream_replay_rows(2, 0.9) == 1
    with pytest.raises(ValueError, match=r"--optim\.batch_size of at least 2"):
        stream_replay_rows(1, 0.5)
    cpu = torch.device("cpu")
    dataset_rows = DeviceBatches(new, CAMERAS, 5, cpu, 6, seed=0)
    old_tasks = sorted(set(old.tasks))
    shape, environment = old.frames[CAMERAS[0]].shape[1:], old.environment_state.shape[1]
    ring = FrameRing(4_000, CAMERAS, shape, 6, 6, 5, old_tasks, None, cpu, environment)
    for episode in _episodes(old):
        ring.add(episode)
    loader = StreamReplayBatches(dataset_rows, StreamBatches(_RecordedStream(), ring, 2, 1, 0))

    batches = list(loader)
    assert len(batches) == len(dataset_rows) and "index" not in batches[0]
    for batch in batches:
        assert batch["state"].shape == (8, 6) and batch["actions"].shape == (8, 5, 6)
        named = [loader.tasks[i] for i in batch["task_index"].tolist()]
        assert set(named[:6]) <= set(new.tasks) and set(named[6:]) <= set(old_tasks)
        # the streamed rows are the ring's frames, with their own state and environment state
        for row in range(6, 8):
            match = np.flatnonzero((old.state == batch["state"][row].numpy()).all(1))
            assert len(match) >= 1
            frame = old.frames[CAMERAS[0]][match[0]]
            np.testing.assert_array_equal(batch["images"][row, 0].permute(1, 2, 0).numpy(), frame)
            np.testing.assert_array_equal(
                batch["environment_state"][row].numpy(), old.environment_state[match[0]]
            )

    without = DatasetArrays(new.state, new.action, new.episode_start, new.episode_end, new.tasks, new.frames)
    plain_rows = DeviceBatches(without, CAMERAS, 5, cpu, 6, seed=0)
    with pytest.raises(ValueError, match="only one of them has the environment state"):
        StreamReplayBatches(plain_rows, StreamBatches(_RecordedStream(), ring, 2, 1, 0))


def test_vla_train_replays_the_expert_stream_beside_a_dataset(caches, tmp_path):
    (_, new_folder), _ = caches
    out = tmp_path / "run"
    command = tiny_train_command(new_folder, out, steps=4, save_every=4, batch_size=8)
    command += ["--data.stream.suite", "tabletop", "--data.replay_share", "0.25"]
    command += ["--data.stream.capacity", "600", "--data.stream.start_frames", "100"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "6 + 2 rows a batch" in result.stdout, result.stdout[-2000:]
    state = json.loads((out / "checkpoints" / "last" / "training_state.json").read_text())
    assert state["step"] == 4 and state["stream_next_job"] >= 1
    tokenizer = json.loads((out / "checkpoints" / "last" / "tokenizer.json").read_text())
    assert {"away", "stack", "bowl"} <= set(tokenizer["model"]["vocab"])  # the dataset's and the stream's

    both = ["--data.replay_dataset", str(new_folder)]
    refused = subprocess.run(command + both, capture_output=True, text=True, timeout=600)
    assert (
        refused.returncode == 2 and "--data.replay_dataset mixes into --data.dataset alone" in refused.stderr
    )
