"""LeRobot baselines (ACT, Diffusion Policy): stats, training steps, saved folders, eval via make_source.

Models are shrunk through `overrides` so that each test takes seconds on CPU; real runs use the defaults.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vla.baselines.lerobot_policies import (
    BASELINES,
    CAMERAS,
    BaselineTrainer,
    LeRobotPolicySource,
    baseline_chunk_length,
    baseline_stats,
    is_lerobot_policy_folder,
)
from vla.evaluation.policies import make_source

TINY = {
    "act": {
        "dim_model": 32,
        "n_heads": 2,
        "dim_feedforward": 64,
        "n_encoder_layers": 1,
        "n_vae_encoder_layers": 1,
        "latent_dim": 4,
        "chunk_size": 8,
        "n_action_steps": 8,
    },
    "diffusion": {
        "down_dims": (16, 32),
        "diffusion_step_embed_dim": 16,
        "spatial_softmax_num_keypoints": 8,
        "horizon": 8,
        "n_action_steps": 4,
        "num_inference_steps": 2,
    },
}


def random_stats(frames: int = 40) -> dict:
    rng = np.random.default_rng(0)
    images = {camera: rng.integers(0, 256, (frames, 128, 128, 3), dtype=np.uint8) for camera in CAMERAS}
    state = rng.uniform(-60, 60, (frames, 6)).astype(np.float32)
    action = rng.uniform(-60, 60, (frames, 6)).astype(np.float32)
    return baseline_stats(images, state, action)


def random_batch(chunk_length: int, batch_size: int = 2) -> dict:
    generator = torch.Generator().manual_seed(1)
    pad = torch.zeros(batch_size, chunk_length, dtype=torch.bool)
    pad[0, chunk_length // 2 :] = True  # the first sample ends mid-chunk
    return {
        "images": torch.randint(0, 256, (batch_size, 2, 3, 128, 128), dtype=torch.uint8, generator=generator),
        "state": torch.rand(batch_size, 6, generator=generator) * 120 - 60,
        "actions": torch.rand(batch_size, chunk_length, 6, generator=generator) * 120 - 60,
        "action_is_pad": pad,
        "task": ["pick up the red cube"] * batch_size,
    }


def test_baseline_stats_shapes_and_values():
    rng = np.random.default_rng(0)
    images = {camera: np.full((30, 16, 16, 3), 255 * (camera == "wrist"), np.uint8) for camera in CAMERAS}
    images["front"][:, :, :, 1] = 51  # channel 1 = 0.2
    state = rng.normal(size=(30, 6)).astype(np.float32)
    stats = baseline_stats(images, state, state * 2, max_image_frames=7)
    assert set(stats) == {
        "observation.images.front",
        "observation.images.wrist",
        "observation.state",
        "action",
    }
    for key, entry in stats.items():
        assert set(entry) == {"mean", "std", "min", "max"}
        shape = (3, 1, 1) if key.startswith("observation.images") else (6,)
        assert all(value.shape == shape and value.dtype == np.float32 for value in entry.values())
    np.testing.assert_allclose(stats["observation.images.front"]["mean"].ravel(), [0, 0.2, 0], atol=1e-6)
    np.testing.assert_allclose(stats["observation.images.wrist"]["max"].ravel(), [1, 1, 1])
    np.testing.assert_allclose(stats["action"]["std"], 2 * state.std(0), rtol=1e-5)


def test_chunk_lengths_follow_lerobot_defaults():
    assert baseline_chunk_length("act") == 100  # ACT chunk_size
    assert (
        baseline_chunk_length("diffusion") == 64
    )  # Diffusion horizon (n_obs_steps=1: from the current frame)
    assert baseline_chunk_length("diffusion", TINY["diffusion"]) == 8
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_chunk_length("vqbet")


@pytest.mark.parametrize("kind", BASELINES)
def test_train_save_and_evaluate(kind, tmp_path, env_factory):
    trainer = BaselineTrainer(kind, random_stats(), "cpu", overrides=TINY[kind])
    assert trainer.parameter_count > 0
    before = [p.detach().clone() for p in trainer.policy.parameters()]
    batch = random_batch(baseline_chunk_length(kind, TINY[kind]))
    losses = [trainer.step(batch) for _ in range(2)]
    assert all(np.isfinite(losses)), losses
    changed = [not torch.equal(a, b) for a, b in zip(before, trainer.policy.parameters(), strict=True)]
    assert sum(changed) > len(changed) // 2

    folder = tmp_path / kind
    trainer.save(folder)
    assert json.loads((folder / "config.json").read_text())["type"] == kind
    assert is_lerobot_policy_folder(folder)

    env = env_factory(task="pick_red_cube")
    source = make_source(str(folder), env)
    assert isinstance(source, LeRobotPolicySource)
    observation, _ = env.reset(seed=0)
    source.start(env, observation)
    for _ in range(5):  # crosses a chunk boundary for both tiny configs
        action = source.act(observation)
        assert action.shape == (6,) and action.dtype == np.float32 and np.all(np.isfinite(action))
        observation, *_ = env.step(action)


@pytest.mark.parametrize(("precision", "dtype"), [("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_precision_sets_the_autocast_dtype_on_cpu(precision, dtype):
    trainer = BaselineTrainer("act", random_stats(), "cpu", overrides=TINY["act"], precision=precision)
    assert trainer.use_bf16 == (precision == "bf16")
    seen = []  # output dtypes of every convolution and linear layer the step runs
    for module in trainer.policy.modules():
        if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
            module.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    loss = trainer.step(random_batch(baseline_chunk_length("act", TINY["act"])))
    assert np.isfinite(loss) and seen and set(seen) == {dtype}
    assert next(trainer.policy.parameters()).dtype == torch.float32  # weights stay fp32 under autocast


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match=r"--optim\.precision"):
        BaselineTrainer("act", random_stats(), "cpu", overrides=TINY["act"], precision="fp16")


def test_loaded_policy_restores_normalisation(tmp_path):
    """The saved processors carry the stats: the loaded pipeline unnormalises to the training units."""
    stats = random_stats()
    trainer = BaselineTrainer("act", stats, "cpu", overrides=TINY["act"])
    trainer.save(tmp_path / "act")
    source = LeRobotPolicySource(tmp_path / "act", device="cpu")
    zeros = torch.zeros(1, 6)
    np.testing.assert_allclose(source.postprocessor(zeros)[0].numpy(), stats["action"]["mean"], rtol=1e-5)


def test_own_checkpoints_are_not_lerobot_folders(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"chunk_length": 10}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert not is_lerobot_policy_folder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"type": "vla"}))
    assert not is_lerobot_policy_folder(tmp_path)
