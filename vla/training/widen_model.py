"""Widening a policy's ranges without changing what it does.

Fine-tuning widens the policy's state and action ranges on the joints the new data leaves (ranges.py).
A range is what a normalised value means, so widening one changes the meaning of every value the policy
has learnt: the shipped policy's elbow range [-17.0, 70.6] deg widened to 75.8 deg (as far as the frames
of `push_away` reach) raised its elbow error on new `tabletop` demonstrations from 1.1 to 2.0 deg, and
its loss from 1.72 to 2.06, before a single training step (bench/widening_cost.py, docs/LOG.md,
2026-12-06 late night). The fine-tune would then relearn the old tasks' joint values beside the new skill.

So the model is rewritten with its ranges, to compute what it computed before in the units that matter
(degrees):
- the state enters through one linear layer (`state_proj`); the old normalised value is an affine
  function of the new one, a * s_new + c, folded exactly into that layer's weight and bias;
- the actions leave as logits over K bins spread over the normalised range (`action_head.to_logits`,
  rows d * K + k); each new bin takes the logits the old head gave its value in degrees, interpolated
  linearly between the two nearest old bins. Bins past the old range (the values the old policy never
  produced) take the edge bin's logits less OUTSIDE_LOGIT_OFFSET, so they start unlikely and the new
  data teaches them.
The actions stay what they were up to the coarser bins (the same K bins now span the wider range).
"""

from __future__ import annotations

import numpy as np
import torch

from vla.models.modeling_vla import VLAModel
from vla.models.normalization import Normalization, RangeNormalizer

# Logit handicap of the new bins beyond the old range: e^-8 ~ 3e-4 of the edge bin's probability each.
OUTSIDE_LOGIT_OFFSET = 8.0


def old_from_new(old: RangeNormalizer, new: RangeNormalizer) -> tuple[np.ndarray, np.ndarray]:
    """(a, c), each (dims,) float64: any value normalised by `old` is a * (it normalised by `new`) + c."""
    old_low, old_span = old.low.astype(np.float64), (old.high - old.low).astype(np.float64)
    new_low, new_span = new.low.astype(np.float64), (new.high - new.low).astype(np.float64)
    a = new_span / old_span
    return a, 2.0 * (new_low - old_low) / old_span + a - 1.0


@torch.no_grad()
def fold_state_ranges(model: VLAModel, old: RangeNormalizer, new: RangeNormalizer) -> None:
    """`state_proj` applied to states normalised by `new` gives what it gave them normalised by `old`."""
    a, c = old_from_new(old, new)
    layer = model.state_proj
    weight = layer.weight.double()  # (D, S)
    layer.bias.copy_(layer.bias.double() + weight @ torch.from_numpy(c))
    layer.weight.copy_(weight * torch.from_numpy(a))


@torch.no_grad()
def remap_action_bins(
    model: VLAModel, old: RangeNormalizer, new: RangeNormalizer, bin_centers: np.ndarray
) -> None:
    """The action head's logits over the bins of `new` are those it gave the same values under `old`.

    `bin_centers` (K,): the bins' centres in normalised units, increasing (the "bins" action tokenizer)."""
    head = model.action_head.to_logits
    centers = bin_centers.astype(np.float64)
    k = len(centers)
    a, c = old_from_new(old, new)
    for dim in np.flatnonzero((old.low != new.low) | (old.high != new.high)):
        where = a[dim] * centers + c[dim]  # (K,) each new bin's centre, normalised by `old`
        right = np.clip(np.searchsorted(centers, where), 1, k - 1)
        share = np.clip((where - centers[right - 1]) / (centers[right] - centers[right - 1]), 0.0, 1.0)
        rows = slice(dim * k, (dim + 1) * k)
        weight, bias = head.weight[rows].double(), head.bias[rows].double()  # (K, D), (K,)
        share_t = torch.from_numpy(share)
        new_weight = weight[right - 1] * (1 - share_t[:, None]) + weight[right] * share_t[:, None]
        new_bias = bias[right - 1] * (1 - share_t) + bias[right] * share_t
        new_bias -= torch.from_numpy(np.where(np.abs(where) > 1.0, OUTSIDE_LOGIT_OFFSET, 0.0))
        head.weight[rows] = new_weight.to(head.weight.dtype)
        head.bias[rows] = new_bias.to(head.bias.dtype)


def keep_function_under_new_ranges(
    model: VLAModel, old: Normalization, new: Normalization, bin_centers: np.ndarray | None
) -> None:
    """`model`, trained under `old`, rewritten in place to act the same under `new` (module docstring);
    `bin_centers` None (an action tokenizer without per-dimension bins): the actions are left to relearn."""
    fold_state_ranges(model, old.state, new.state)
    if bin_centers is not None:
        remap_action_bins(model, old.action, new.action, bin_centers)
