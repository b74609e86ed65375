"""Widening a policy's ranges rewrites its state input and action bins so it acts as before, in degrees."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vla.models.normalization import RangeNormalizer
from vla.training.widen_model import fold_state_ranges, remap_action_bins

K, WIDTH = 64, 8
CENTERS = np.linspace(-1.0, 1.0, K).astype(np.float32)
OLD = RangeNormalizer(np.array([-17.0, 0.0], np.float32), np.array([70.0, 45.0], np.float32))
NEW = RangeNormalizer(np.array([-30.0, 0.0], np.float32), np.array([80.0, 45.0], np.float32))


class HeadOnly(nn.Module):
    """The two layers the rewrite touches, as VLAModel names them."""

    def __init__(self, state_dim: int, action_dim: int):
        super().__init__()
        self.state_proj = nn.Linear(state_dim, WIDTH)
        self.action_head = nn.Module()
        self.action_head.to_logits = nn.Linear(WIDTH, action_dim * K)


def expected_degrees(model: HeadOnly, hidden: torch.Tensor, ranges: RangeNormalizer) -> np.ndarray:
    """(B, A) the decoded action (expectation over bin centres), unnormalised."""
    logits = model.action_head.to_logits(hidden).unflatten(-1, (2, K))
    normalised = logits.softmax(-1) @ torch.from_numpy(CENTERS)
    return ranges.unnormalize(normalised.detach().numpy())


def test_the_state_layer_gives_the_same_output_for_the_same_degrees():
    torch.manual_seed(0)
    model = HeadOnly(2, 2)
    degrees = np.array([[-17.0, 10.0], [35.0, 44.0], [70.0, 0.0]], np.float32)
    before = model.state_proj(torch.from_numpy(OLD.normalize(degrees)))
    fold_state_ranges(model, OLD, NEW)
    after = model.state_proj(torch.from_numpy(NEW.normalize(degrees)))
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


def test_the_action_bins_decode_to_the_same_degrees_and_the_new_ones_start_unlikely():
    """A head whose logits peak somewhere in the old range (a smooth bump per dimension, moved by the hidden
    state): after the rewrite it decodes to the same degrees within one new bin, and the bins past the old
    range hold almost no probability."""
    torch.manual_seed(0)
    model = HeadOnly(2, 2)
    with torch.no_grad():
        peak = torch.tensor([0.9, -0.2])  # normalised by OLD: the elbow near its old top
        bump = -((torch.from_numpy(CENTERS)[None, :] - peak[:, None]) ** 2) / 0.02  # (A, K)
        model.action_head.to_logits.bias.copy_(bump.flatten())
        slope = torch.from_numpy(CENTERS).repeat(2)[:, None] * torch.randn(1, WIDTH) * 0.5  # (A * K, D)
        model.action_head.to_logits.weight.copy_(slope)
    hidden = torch.randn(5, WIDTH)
    before = expected_degrees(model, hidden, OLD)
    remap_action_bins(model, OLD, NEW, CENTERS)
    after = expected_degrees(model, hidden, NEW)
    new_bin = (NEW.high - NEW.low) / (K - 1)  # degrees between neighbouring bins
    assert np.all(np.abs(after - before) < new_bin), (before, after)
    probabilities = model.action_head.to_logits(hidden).detach().unflatten(-1, (2, K)).softmax(-1)[:, 0]
    past_old_top = torch.from_numpy(NEW.unnormalize(CENTERS[:, None].repeat(2, 1))[:, 0] > OLD.high[0] + 0.5)
    assert float(probabilities[:, past_old_top].sum(-1).max()) < 0.01


def test_a_dimension_whose_range_stays_keeps_its_logits():
    torch.manual_seed(0)
    model = HeadOnly(2, 2)
    before = model.action_head.to_logits.weight[K:].clone()
    remap_action_bins(model, OLD, NEW, CENTERS)
    torch.testing.assert_close(model.action_head.to_logits.weight[K:], before)
