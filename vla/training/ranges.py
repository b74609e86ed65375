"""Fine-tuning checks that the new data stays inside the ranges the policy normalises by.

A fine-tuned policy keeps the normalisation of the checkpoint it starts from, and the action tokenizer
clips everything beyond [-1, 1]. Data that leaves the old range would be learnt clipped: a gripper that the
new demonstrations open to 60 % but the policy's range ends at 45 % is trained to open to 45 %, and no
loss curve shows it (this happened: docs/LOG.md, 2026-12-03 night). So training refuses such data, naming
the joint, unless asked to widen the policy's ranges to cover it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from vla.models.normalization import Normalization, RangeNormalizer

# How far (a share of the policy's span) the data's q01/q99 may pass the policy's bounds: noise and a new
# seed's episodes move the percentiles by a few percent; a changed joint range moves them by much more.
RANGE_TOLERANCE = 0.05


def outside_range(
    policy: RangeNormalizer, data: RangeNormalizer, names: tuple[str, ...] | None, what: str
) -> list[str]:
    """One line per dimension whose data bounds pass the policy's by more than RANGE_TOLERANCE."""
    span = np.maximum(policy.high - policy.low, 1e-3)
    lines = []
    bounds = zip(policy.low, policy.high, data.low, data.high, strict=True)
    for i, (low, high, data_low, data_high) in enumerate(bounds):
        if data_low < low - RANGE_TOLERANCE * span[i] or data_high > high + RANGE_TOLERANCE * span[i]:
            name = names[i] if names and i < len(names) else f"dimension {i}"
            lines.append(
                f"{what} {name}: the data spans [{data_low:.1f}, {data_high:.1f}], the policy normalises "
                f"[{low:.1f}, {high:.1f}]"
            )
    return lines


def widened(policy: RangeNormalizer, data: RangeNormalizer) -> RangeNormalizer:
    """The union of both ranges, per dimension."""
    return RangeNormalizer(np.minimum(policy.low, data.low), np.maximum(policy.high, data.high))


def with_data_ranges(
    policy: Normalization,
    data: Normalization,
    state_names: tuple[str, ...] | None,
    action_names: tuple[str, ...] | None,
    widen: bool,
) -> Normalization:
    """`policy`'s normalisation, checked against the fine-tuning data's (`data`, from its stats).

    Raises ValueError naming every state and action dimension the data takes out of range, or with `widen`
    returns the normalisation widened to cover them (the model then relearns what those values mean)."""
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
            "the fine-tuning data leaves the ranges the --init policy normalises by, so it would be learnt "
            "clipped:\n  " + "\n  ".join(lines) + "\ncheck the data's units and calibration, or pass "
            "--widen-normalization to widen the policy's ranges to cover it"
        )
    print("widening the policy's normalisation to cover the fine-tuning data:\n  " + "\n  ".join(lines))
    return replace(
        policy, state=widened(policy.state, data.state), action=widened(policy.action, data.action)
    )
