"""The VLA policy as a LeRobot policy plugin: `--policy.type=vla` through LeRobot's factory and trainer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def registered_plugins() -> None:
    """What every LeRobot entry point does first: import the installed `lerobot_*` plugin distributions."""
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()


@pytest.fixture
def dataset(recorded_dataset) -> Path:
    """Two expert episodes (pick_red_cube, push_green_cube_right), recorded once per session."""
    return recorded_dataset


def _open(root: Path, chunk: int | None = None):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    delta = {"action": [i / 30 for i in range(chunk)]} if chunk else None
    return LeRobotDataset(f"local/{root.name}", root=root, video_backend="pyav", delta_timestamps=delta)


def test_lerobot_resolves_the_plugin():
    from lerobot.policies.factory import get_policy_class, make_policy_config

    config = make_policy_config("vla", preset="debug", device="cpu")
    assert config.type == "vla"
    assert config.chunk_size == 4 and config.n_action_steps == 4  # the debug preset's chunk
    assert config.action_delta_indices == [0, 1, 2, 3] and config.observation_delta_indices is None
    assert get_policy_class("vla").__name__ == "VLAPolicy"
    with pytest.raises(ValueError, match="n_action_steps"):
        make_policy_config("vla", chunk_size=4, n_action_steps=5, device="cpu")


def test_policy_learns_acts_and_round_trips(dataset, tmp_path):
    from lerobot.policies.factory import (
        get_policy_class,
        make_policy,
        make_policy_config,
        make_pre_post_processors,
    )

    torch.manual_seed(0)  # initial weights, word dropout and augmentation
    chunks = _open(dataset, chunk=4)
    config = make_policy_config("vla", preset="debug", n_action_steps=2, device="cpu")
    policy = make_policy(config, ds_meta=chunks.meta)
    preprocess, postprocess = make_pre_post_processors(config, dataset_stats=chunks.meta.stats)

    # Overfit one training batch: the loss must fall well below its starting value.
    batch = preprocess(torch.utils.data.default_collate([chunks[i] for i in (0, 50)]))
    optimizer = torch.optim.AdamW(policy.get_optim_params(), lr=3e-3)
    policy.train()
    first, _ = policy.forward(batch)
    for _ in range(30):
        loss, info = policy.forward(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first.item() and 0.0 <= info["token_accuracy"] <= 1.0

    # One observation in, one action out, in dataset units within the recorded range.
    frame = _open(dataset)[10]
    observation = {key: value for key, value in frame.items() if key.startswith("observation.")}
    policy.reset()
    action = postprocess(policy.select_action(preprocess({**observation, "task": frame["task"]})))
    assert action.shape == (1, 6) and torch.isfinite(action).all()
    low, high = chunks.meta.stats["action"]["min"], chunks.meta.stats["action"]["max"]
    assert (action >= torch.as_tensor(low) - 1e-3).all() and (action <= torch.as_tensor(high) + 1e-3).all()

    # save_pretrained / from_pretrained: config.json (with the vocabulary) + model.safetensors.
    policy.save_pretrained(tmp_path)
    loaded = get_policy_class("vla").from_pretrained(tmp_path)
    assert loaded.config.vocabulary == policy.config.vocabulary
    inputs = preprocess({**observation, "task": frame["task"]})
    torch.testing.assert_close(loaded.predict_action_chunk(inputs), policy.predict_action_chunk(inputs))


@pytest.mark.slow
def test_lerobot_train_trains_the_policy(dataset, tmp_path):
    command = [
        *(sys.executable, "-m", "lerobot.scripts.lerobot_train"),
        *("--policy.type=vla", "--policy.preset=debug", "--policy.device=cpu", "--policy.push_to_hub=false"),
        f"--dataset.repo_id=local/{dataset.name}",
        f"--dataset.root={dataset}",
        "--dataset.video_backend=pyav",
        *("--steps=3", "--batch_size=2", "--num_workers=0", "--log_freq=1", "--save_checkpoint=false"),
        f"--output_dir={tmp_path / 'train'}",
        "--wandb.enable=false",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "step:3" in output and "loss:" in output and "token_accuracy:" in output, output[-3000:]
