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

    Only those: widening a range changes what every value of that dimension normalises to, so the model
    relearns it, and a dimension the data stays within gains nothing from that (docs/LOG.md, 2026-12-05)."""
    leave = out_of_tolerance(policy, data)
    low = np.where(leave, np.minimum(policy.low, data.low), policy.low)
    high = np.where(leave, np.maximum(policy.high, data.high), policy.high)
    return RangeNormalizer(low.astype(policy.low.dtype), high.astype(policy.high.dtype))


def with_data_ranges(
    policy: Normalization,
    data: Normalization,
    state_names: tuple[str, ...] | None,
    action_names: tuple[str, ...] | None,
    widen: bool,
) -> Normalization:
    """`policy`'s normalisation, checked against the fine-tuning data's (`data`, from its stats).

    Raises ValueError naming every state and action dimension the data takes out of range, or with `widen`
    returns the normalisation widened on those dimensions to cover the data (the model then relearns what
    their values mean)."""
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
