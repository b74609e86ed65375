"""The VLA model on CPU with the `debug` preset: shapes, learning, checkpoints, numerics, --backbone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vla.models.checkpoint import PolicyBundle, load_checkpoint, save_checkpoint
from vla.models.configuration_vla import VLAConfig, preset
from vla.models.modeling_vla import VLABatch, VLAModel, decode_logits
from vla.models.normalization import Normalization, RangeNormalizer
from vla.policy import VLAPolicy
from vla.tokenization import BinningActionTokenizer, BinningConfig
from vla.tokenization.text import build_word_tokenizer

GOLDEN = Path(__file__).parent / "golden" / "debug_logits.json"
INSTRUCTIONS = ["pick up the red cube", "push the green cube to the left side"]


def make_bundle(seed: int = 0, config: VLAConfig | None = None) -> PolicyBundle:
    torch.manual_seed(seed)
    config = config or preset("debug")
    words = build_word_tokenizer(INSTRUCTIONS)
    model = VLAModel(config, words.get_vocab_size())
    low, high = np.full(6, -90, np.float32), np.full(6, 90, np.float32)
    normalization = Normalization(RangeNormalizer(low, high), RangeNormalizer(low, high))
    tokens = BinningActionTokenizer(BinningConfig(config.n_action_bins, config.action_dim))
    return PolicyBundle(config, model, normalization, words, tokens)


def with_objects(bundle: PolicyBundle, data: Normalization, weight: float = 1.0, **objects) -> PolicyBundle:
    """`bundle` as a run on data normalised by `data` trains it (vla/training/policy_setup.py), asking for
    the object modules `objects` (ObjectsTraining's fields) with environment-state loss weight `weight`."""
    from vla.training.policy_setup import ObjectsTraining, training_policy

    return training_policy(bundle, bundle.config, [], data, ObjectsTraining(weight, **objects))


def make_batch(config: VLAConfig, batch: int = 2, seed: int = 1) -> VLABatch:
    g = torch.Generator().manual_seed(seed)
    size = config.vision.image_size
    return VLABatch(
        images=torch.rand(batch, len(config.cameras), 3, size, size, generator=g),
        state=torch.rand(batch, config.state_dim, generator=g) * 2 - 1,
        words=torch.tensor([[5, 3, 8, 0], [2, 9, 0, 0]])[:batch],
        sentence=None,
        action_tokens=torch.randint(
            0, config.n_action_bins, (batch, config.chunk_length, config.action_dim), generator=g
        ),
    )


def test_forward_backward_shapes():
    bundle = make_bundle()
    config = bundle.config
    batch = make_batch(config)
    logits = bundle.model(batch)
    assert logits.shape == (2, config.chunk_length, config.action_dim, config.n_action_bins)
    loss = bundle.model.loss(batch)
    loss.backward()
    grads = [p.grad for p in bundle.model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    actions, confidence = decode_logits(logits, torch.from_numpy(bundle.action_tokenizer.bin_centers))
    assert actions.shape == (2, config.chunk_length, config.action_dim)
    assert ((confidence > 0) & (confidence <= 1)).all()


def test_pad_words_do_not_change_the_output():
    bundle = make_bundle()
    batch = make_batch(bundle.config)
    padded = VLABatch(
        batch.images, batch.state, torch.cat([batch.words, torch.zeros(2, 3, dtype=torch.long)], 1), None
    )
    with torch.no_grad():
        torch.testing.assert_close(
            bundle.model(batch)[:, :, :, :], bundle.model(padded), atol=1e-5, rtol=1e-5
        )


def test_overfits_one_batch():
    bundle = make_bundle()
    batch = make_batch(bundle.config)
    optimizer = torch.optim.AdamW(bundle.model.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        loss = bundle.model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert first > 2.5
    assert loss.item() < 0.1


def observation(config: VLAConfig, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    obs = {
        f"observation.images.{c}": rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for c in config.cameras
    }
    obs["observation.state"] = rng.uniform(-30, 30, 6).astype(np.float32)
    obs["task"] = INSTRUCTIONS[0]
    return obs


def test_save_load_infer_identical(tmp_path):
    bundle = make_bundle()
    save_checkpoint(tmp_path / "ckpt", bundle)
    names = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert "model.safetensors" in names and not any(n.endswith((".pt", ".pkl", ".bin")) for n in names)
    original = VLAPolicy(bundle)
    loaded = VLAPolicy.from_checkpoint(tmp_path / "ckpt")
    obs = observation(bundle.config)
    a, b = original.infer(obs), loaded.infer(obs)
    np.testing.assert_array_equal(a["actions"], b["actions"])
    np.testing.assert_array_equal(a["confidence"], b["confidence"])
    assert a["actions"].shape == (bundle.config.chunk_length, 6) and a["actions"].dtype == np.float32


def test_missing_checkpoint_file_is_named(tmp_path):
    save_checkpoint(tmp_path / "ckpt", make_bundle())
    (tmp_path / "ckpt" / "normalization.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"normalization\.json"):
        load_checkpoint(tmp_path / "ckpt")


def test_bad_observation_is_a_clear_error():
    policy = VLAPolicy(make_bundle())
    obs = observation(policy.config)
    del obs["observation.state"]
    with pytest.raises(KeyError, match=r"observation\.state"):
        policy.infer(obs)
    obs = observation(policy.config)
    obs["observation.images.front"] = obs["observation.images.front"].astype(np.float32)
    with pytest.raises(ValueError, match=r"observation\.images\.front"):
        policy.infer(obs)


def golden_logits() -> torch.Tensor:
    bundle = make_bundle(seed=1234)
    with torch.no_grad():
        return bundle.model.eval()(make_batch(bundle.config, seed=99))


def test_golden_output():
    """Guards the model's numerics: a fixed seed and input give the stored logits."""
    logits = golden_logits()
    expected = json.loads(GOLDEN.read_text())
    picked = logits[0, :, 0, :4].flatten().tolist() + logits[1, -1, -1, -4:].tolist()
    np.testing.assert_allclose(picked, expected["values"], rtol=1e-4, atol=1e-5)


def test_pretrained_backbone_from_a_local_folder(tmp_path):
    """A tiny random SmolVLM saved to disk loads through `backbone_path`, like a real SmolVLM2 would."""
    from transformers import SmolVLMForConditionalGeneration

    from vla.models.backbone import scratch_backbone_config

    debug = preset("debug")
    words = build_word_tokenizer(INSTRUCTIONS)
    folder = tmp_path / "tiny_smolvlm"
    SmolVLMForConditionalGeneration(scratch_backbone_config(debug, words.get_vocab_size())).save_pretrained(
        folder
    )
    words.save(str(folder / "tokenizer.json"))
    config = preset("debug", backbone_path=str(folder))
    bundle = make_bundle(config=config)
    logits = bundle.model(make_batch(config))
    assert logits.shape[-1] == config.n_action_bins
    save_checkpoint(tmp_path / "ckpt", bundle)
    import shutil

    shutil.rmtree(folder)  # the checkpoint no longer needs the backbone folder
    loaded = VLAPolicy.from_checkpoint(tmp_path / "ckpt")
    obs = observation(config)
    np.testing.assert_array_equal(VLAPolicy(bundle).infer(obs)["actions"], loaded.infer(obs)["actions"])


def test_backbone_folder_errors(tmp_path):
    from vla.models.backbone import build_backbone

    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        build_backbone(preset("debug", backbone_path=str(tmp_path)), 10)


if __name__ == "__main__":  # regenerate the golden file after an intended numerics change
    logits = golden_logits()
    values = logits[0, :, 0, :4].flatten().tolist() + logits[1, -1, -1, -4:].tolist()
    GOLDEN.write_text(json.dumps({"preset": "debug", "seed": 1234, "values": values}, indent=1) + "\n")


def test_the_shipped_policy_re_saved_gives_identical_actions(tmp_path):
    """The shipped policy, loaded and saved again by this vla (its config.json was re-saved when
    `grounding_dims` was removed; its weights keep the object modules at the top level, as saved before
    they moved under `objects.`), acts bit for bit the same."""
    from safetensors import safe_open

    from tests.test_runtime import observation

    folder = Path(__file__).parents[1] / "policies" / "tabletop_nano"
    shipped = load_checkpoint(folder)
    resaved = load_checkpoint(save_checkpoint(tmp_path / "resaved", shipped))
    assert "grounding_dims" not in json.loads((tmp_path / "resaved" / "config.json").read_text())
    for name, prefix in ((folder, "environment_head."), (tmp_path / "resaved", "objects.environment_head.")):
        with safe_open(str(name / "model.safetensors"), "pt") as weights:
            assert any(key.startswith(prefix) for key in weights.keys()), name  # noqa: SIM118
    assert resaved.config == shipped.config
    for seed, task in enumerate(["pick up the red cube", "put the green cube in the white bowl"]):
        obs = observation(shipped.config.vision.image_size, task, seed)
        np.testing.assert_array_equal(
            VLAPolicy(resaved).infer(obs)["actions"], VLAPolicy(shipped).infer(obs)["actions"]
        )
