"""Fine-tuning ranges: the policy's normalisation widens where the data leaves it, saying so, or refuses
such data naming the joint."""

from __future__ import annotations

import numpy as np
import pytest

from vla.models.normalization import Normalization, RangeNormalizer
from vla.training.ranges import with_data_ranges

NAMES = ("shoulder_pan.pos", "gripper.pos")


def normalization(gripper_high: float) -> Normalization:
    ranges = RangeNormalizer(np.array([-50.0, 0.0]), np.array([50.0, gripper_high]))
    return Normalization(state=ranges, action=ranges)


def test_data_inside_the_ranges_keeps_the_policys_normalisation():
    policy = normalization(45.0)
    assert with_data_ranges(policy, normalization(46.0), NAMES, NAMES, widen=False) is policy


def test_data_past_a_range_is_refused_with_the_joint_named():
    with pytest.raises(ValueError, match=r"action gripper.pos: the data spans \[0.0, 60.0\].*\[0.0, 45.0\]"):
        with_data_ranges(normalization(45.0), normalization(60.0), NAMES, NAMES, widen=False)


def test_widening_covers_both_ranges():
    widened = with_data_ranges(normalization(45.0), normalization(60.0), NAMES, NAMES, widen=True)
    np.testing.assert_allclose(widened.action.high, [50.0, 60.0])
    np.testing.assert_allclose(widened.state.low, [-50.0, 0.0])


def test_widening_leaves_the_dimensions_the_data_stays_within():
    """The pan's data passes its range by 2 % of the span (inside the tolerance), the gripper's by far more:
    only the gripper's range widens, so the pan's values keep what they normalised to."""
    data = RangeNormalizer(np.array([-50.0, 0.0]), np.array([52.0, 60.0]))
    widened = with_data_ranges(
        normalization(45.0), Normalization(state=data, action=data), NAMES, NAMES, widen=True
    )
    np.testing.assert_allclose(widened.action.high, [50.0, 60.0])
    np.testing.assert_allclose(widened.state.high, [50.0, 60.0])


def test_a_different_number_of_joints_is_refused():
    three = RangeNormalizer(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="2 state values, the fine-tuning data 3"):
        with_data_ranges(normalization(45.0), Normalization(state=three, action=three), None, None, True)


def test_widening_is_the_default_and_says_so_in_one_line():
    """`vla train --init` widens without being asked, and names each joint with its old and new range."""
    lines: list[str] = []
    widened = with_data_ranges(normalization(45.0), normalization(60.0), NAMES, NAMES, report=lines.append)
    np.testing.assert_allclose(widened.action.high, [50.0, 60.0])
    assert len(lines) == 1 and "\n" not in lines[0]
    assert (
        "state gripper.pos [0.0, 45.0] -> [0.0, 60.0], action gripper.pos [0.0, 45.0] -> [0.0, 60.0]"
        in lines[0]
    )
    assert "shoulder_pan" not in lines[0]  # inside its range: not widened, not named
    assert "--policy.widen_normalization false" in lines[0]


def test_refusing_names_every_joint_on_one_line():
    with pytest.raises(ValueError) as refused:
        with_data_ranges(normalization(45.0), normalization(60.0), NAMES, NAMES, widen=False)
    message = str(refused.value)
    assert "\n" not in message and "state gripper.pos" in message and "action gripper.pos" in message
