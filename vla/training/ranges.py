"""Fine-tuning checks that the new data stays inside the ranges the policy normalises by.

A fine-tuned policy keeps the normalisation of the checkpoint it starts from, and the action tokenizer
clips everything beyond [-1, 1]. Data that leaves the old range would be learnt clipped: a gripper that the
new demonstrations open to 60 % but the policy's range ends at 45 % is trained to open to 45 %, and no
loss curve shows it (this happened: docs/LOG.md, 2026-12-03 night). So fine-tuning widens the policy's
ranges to cover such data, only on the dimensions the data leaves, and says so in one line naming each joint
with its old and new range; `vla train --policy.widen_normalization false` refuses the data instead.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vla.models.normalization import Normalization, RangeNormalizer

# How far (a share of the policy's span) the data's q01/q99 may pass the policy's bounds: noise and a new
# seed's episodes move the percentiles by a few percent; a changed joint range moves them by much more.
RANGE_TOLERANCE = 0.05


def out_of_tolerance(policy: RangeNormalizer, data: RangeNormalizer) -> np.ndarray:
    """(dims,) bool: where the data's bounds pass the policy's by more than RANGE_TOLERANCE of its span."""
    span = np.maximum(policy.high - policy.low, 1e-3)
    margin = RANGE_TOLERANCE * span
    return (data.low < policy.low - margin) | (data.high > policy.high + margin)


def outside_range(
    policy: RangeNormalizer, data: RangeNormalizer, names: tuple[str, ...] | None, what: str
) -> list[str]:
    """One line per dimension whose data bounds pass the policy's by more than RANGE_TOLERANCE."""
    lines = []
    for i in np.flatnonzero(out_of_tolerance(policy, data)):
        name = names[i] if names and i < len(names) else f"dimension {i}"
        lines.append(
            f"{what} {name}: the data spans [{data.low[i]:.1f}, {data.high[i]:.1f}], the policy normalises "
            f"[{policy.low[i]:.1f}, {policy.high[i]:.1f}]"
        )
    return lines


def widened(policy: RangeNormalizer, data: RangeNormalizer) -> RangeNormalizer:
    """The union of both ranges on the dimensions the data leaves (out_of_tolerance); the policy's elsewhere.

    Only those: widening a range changes what every value of that dimension normalises to (the model is
    rewritten to match, training/widen_model.py, at the cost of coarser bins), and a dimension the data
    stays within gains nothing from that (docs/LOG.md, 2026-12-05)."""
    leave = out_of_tolerance(policy, data)
    low = np.where(leave, np.minimum(policy.low, data.low), policy.low)
    high = np.where(leave, np.maximum(policy.high, data.high), policy.high)
    return RangeNormalizer(low.astype(policy.low.dtype), high.astype(policy.high.dtype))


def widening_note(
    policy: RangeNormalizer, wide: RangeNormalizer, names: tuple[str, ...] | None, what: str
) -> list[str]:
    """ "action gripper.pos [0.0, 45.0] -> [0.0, 60.0]" for each dimension whose range `wide` changed."""
    changed = np.flatnonzero((wide.low != policy.low) | (wide.high != policy.high))
    notes = []
    for i in changed:
        name = names[i] if names and i < len(names) else f"dimension {i}"
        old, new = f"[{policy.low[i]:.1f}, {policy.high[i]:.1f}]", f"[{wide.low[i]:.1f}, {wide.high[i]:.1f}]"
        notes.append(f"{what} {name} {old} -> {new}")
    return notes


def with_data_ranges(
    policy: Normalization,
    data: Normalization,
    state_names: tuple[str, ...] | None,
    action_names: tuple[str, ...] | None,
    widen: bool = True,
    report=print,
) -> Normalization:
    """`policy`'s normalisation, checked against the fine-tuning data's (`data`, from its stats).

    Returns `policy` itself when the data stays within its ranges. Otherwise, with `widen` (the default),
    returns the normalisation widened on exactly the dimensions the data leaves (fine_tuning_bundle
    rewrites the model to act the same under it) and reports one line naming each with its old and new
    range; without `widen` raises ValueError naming every state and action dimension the data takes out of
    range."""
    for what, ours, theirs in (("state", policy.state, data.state), ("action", policy.action, data.action)):
        if len(ours.low) != len(theirs.low):
            raise ValueError(
                f"the policy has {len(ours.low)} {what} values, the fine-tuning data {len(theirs.low)}"
            )
    lines = outside_range(policy.state, data.state, state_names, "state") + outside_range(
        policy.action, data.action, action_names, "action"
    )
    if not lines:
        return policy
    if not widen:
        raise ValueError(
            "the fine-tuning data leaves the ranges the --policy.init policy normalises by, so it would be "
            "learnt "
            f"clipped: {'; '.join(lines)}; check the data's units and calibration, or leave out "
            "--policy.widen_normalization false to widen the policy's ranges to cover it"
        )
    wide = replace(
        policy, state=widened(policy.state, data.state), action=widened(policy.action, data.action)
    )
    notes = widening_note(policy.state, wide.state, state_names, "state")
    notes += widening_note(policy.action, wide.action, action_names, "action")
    report(
        f"fine-tuning data leaves the --policy.init policy's ranges; widened: {', '.join(notes)} "
        "(--policy.widen_normalization false refuses such data instead)"
    )
    return wide
