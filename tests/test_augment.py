"""Training-batch augmentation: joint-state noise and dropout reach training batches only, as asked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vla.models.configuration_vla import preset
from vla.models.normalization import Normalization, RangeNormalizer
from vla.training.augment import drop_state, perturb_state
from vla.training.loop import BatchEncoder, TrainConfig, fresh_bundle

INSTRUCTIONS = ["pick up the red cube", "push the yellow cube left"]


def test_state_noise_has_the_std_asked_for_and_zero_is_exact():
    torch.manual_seed(0)
    state = torch.rand(4096, 6) * 2 - 1
    assert torch.equal(perturb_state(state, 0.0), state)
    noise = perturb_state(state, 0.1) - state
    assert noise.std().item() == pytest.approx(0.1, rel=0.05)
    assert noise.mean().abs().item() < 0.01


def test_state_dropout_zeroes_whole_rows_at_the_rate_asked_for():
    torch.manual_seed(0)
    state = torch.rand(4096, 6) + 0.5  # no reading is zero
    assert torch.equal(drop_state(state, 0.0), state)
    dropped = drop_state(state, 0.3)
    zero_rows = (dropped == 0).all(dim=1)
    assert zero_rows.float().mean().item() == pytest.approx(0.3, abs=0.03)
    assert ((dropped == 0).any(dim=1) == zero_rows).all()  # a row is dropped whole or not at all
    assert torch.equal(dropped[~zero_rows], state[~zero_rows])


def _batch(batch_size: int = 16) -> dict:
    rng = np.random.default_rng(0)
    return {
        "images": torch.from_numpy(rng.integers(0, 256, (batch_size, 2, 3, 32, 32), dtype=np.uint8)),
        "state": torch.from_numpy(rng.uniform(-1, 1, (batch_size, 6)).astype(np.float32)),
        "task_index": torch.zeros(batch_size, dtype=torch.long),
        "actions": torch.from_numpy(rng.uniform(-1, 1, (batch_size, 4, 6)).astype(np.float32)),
        "action_is_pad": torch.zeros(batch_size, 4, dtype=torch.bool),
    }


def test_batch_encoder_adds_state_noise_to_training_batches_only():
    config = preset("debug", sentence_encoder=None)
    limits = RangeNormalizer(np.full(6, -1.0, np.float32), np.ones(6, np.float32))
    bundle = fresh_bundle(config, INSTRUCTIONS, Normalization(limits, limits))
    batch = _batch()
    noisy = BatchEncoder(bundle, torch.device("cpu"), augment=False, tasks=INSTRUCTIONS, state_noise=0.2)
    exact = BatchEncoder(bundle, torch.device("cpu"), augment=False, tasks=INSTRUCTIONS)
    assert torch.equal(noisy(batch, train=False).state, batch["state"])  # validation sees the readings
    assert torch.equal(exact(batch, train=True).state, batch["state"])
    trained = noisy(batch, train=True)
    assert not torch.equal(trained.state, batch["state"])
    assert torch.equal(trained.images, batch["images"].float() / 255.0)  # only the state is perturbed


def test_batch_encoder_drops_the_state_of_training_batches_only():
    config = preset("debug", sentence_encoder=None)
    limits = RangeNormalizer(np.full(6, -1.0, np.float32), np.ones(6, np.float32))
    bundle = fresh_bundle(config, INSTRUCTIONS, Normalization(limits, limits))
    batch = _batch(batch_size=64)
    encoder = BatchEncoder(bundle, torch.device("cpu"), augment=False, tasks=INSTRUCTIONS, state_dropout=0.5)
    assert torch.equal(encoder(batch, train=False).state, batch["state"])
    torch.manual_seed(0)
    zero_rows = (encoder(batch, train=True).state == 0).all(dim=1)
    assert 0 < zero_rows.sum().item() < 64


@pytest.mark.parametrize("std", [-0.1, 1.5])
def test_train_config_rejects_a_state_noise_outside_0_to_1(tmp_path, std):
    with pytest.raises(ValueError, match="--state-noise"):
        TrainConfig(dataset=tmp_path, out=tmp_path / "run", state_noise=std)


@pytest.mark.parametrize("probability", [-0.1, 1.0])
def test_train_config_rejects_a_state_dropout_outside_0_to_1(tmp_path, probability):
    with pytest.raises(ValueError, match="--state-dropout"):
        TrainConfig(dataset=tmp_path, out=tmp_path / "run", state_dropout=probability)
