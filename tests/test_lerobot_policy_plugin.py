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


SHIPPED = Path(__file__).resolve().parents[1] / "policies" / "tabletop_nano"


def _observation(seed: int = 0) -> dict:
    """One observation in the project's contract: uint8 (H, W, 3) frames, so101_follower state, task."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        "observation.images.front": rng.integers(0, 256, (128, 128, 3), dtype=np.uint8),
        "observation.images.wrist": rng.integers(0, 256, (128, 128, 3), dtype=np.uint8),
        "observation.state": np.array([0.0, -20.0, 10.0, 90.0, 0.0, 30.0], np.float32),
        "task": "pick up the red cube",
    }


def test_shipped_policy_loads_in_lerobot_and_acts_as_vla_eval():
    """`--policy.path=policies/tabletop_nano`, as lerobot-eval and lerobot-rollout load it: the same chunk as
    the project's own `infer`, served one action at a time."""
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    from vla.policy import VLAPolicy

    config = PreTrainedConfig.from_pretrained(SHIPPED, cli_overrides=["--device=cpu", "--n_action_steps=4"])
    assert config.type == "vla_checkpoint" and config.n_action_steps == 4
    policy = get_policy_class(config.type).from_pretrained(SHIPPED, config=config)
    preprocess, postprocess = make_pre_post_processors(config, pretrained_path=str(SHIPPED))

    observation = _observation()
    expected = VLAPolicy.from_checkpoint(SHIPPED).infer(observation)["actions"]  # (T, A)
    # What LeRobot feeds a policy: channel-first float frames in [0, 1] (lerobot.envs.utils).
    batch = {
        key: torch.from_numpy(value).permute(2, 0, 1).float() / 255.0
        if key.startswith("observation.images")
        else torch.from_numpy(value)
        if key.startswith("observation")
        else value
        for key, value in observation.items()
    }
    policy.reset()
    served = [postprocess(policy.select_action(preprocess(dict(batch)))) for _ in range(5)]
    assert served[0].shape == (1, 6)
    # Steps 0-3 come from the first chunk, step 4 from a new one (same observation: the same chunk again).
    torch.testing.assert_close(torch.cat(served[:4]), torch.from_numpy(expected[:4]), rtol=0, atol=1e-5)
    torch.testing.assert_close(served[4], torch.from_numpy(expected[:1]), rtol=0, atol=1e-5)


def test_prepare_checkpoint_tags_the_config_and_leaves_the_weights(tmp_path):
    import hashlib
    import json
    import shutil

    from lerobot_policy_vla.prepare_checkpoint import prepare_checkpoint

    from vla.models.checkpoint import read_checkpoint_config
    from vla.models.configuration_vla import VLAConfig

    folder = tmp_path / "checkpoint"
    shutil.copytree(SHIPPED, folder)
    config = json.loads((folder / "config.json").read_text())
    del config["type"]  # as `vla train` writes it
    # as an older vla wrote it: a field this one migrates away, which LeRobot's strict parser would refuse
    (folder / "config.json").write_text(json.dumps(config | {"grounding_dims": 0}))
    for name in ("policy_preprocessor.json", "policy_postprocessor.json"):
        (folder / name).unlink()
    weights = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()

    prepare_checkpoint(folder)
    prepare_checkpoint(folder)  # twice changes nothing
    tagged = json.loads((folder / "config.json").read_text())
    # tagged, the migrated field gone, and every field this vla has written out (defaults included)
    current = json.loads(json.dumps(VLAConfig.from_dict(config).to_dict()))
    assert tagged == {"type": "vla_checkpoint", **current}
    assert (folder / "policy_preprocessor.json").is_file() and (
        folder / "policy_postprocessor.json"
    ).is_file()
    assert hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest() == weights
    assert read_checkpoint_config(folder) == read_checkpoint_config(SHIPPED)

    # Our loader refuses a config.json of another LeRobot policy type, naming the field.
    (folder / "config.json").write_text(json.dumps({**config, "type": "act"}))
    with pytest.raises(ValueError, match='"type"'):
        read_checkpoint_config(folder)
