import numpy as np
import pytest

from sim.robot import ACTION_NAMES, JointUnits, check_finite_action


def make_units() -> JointUnits:
    low = np.array([-1.9, -1.7, -1.69, -1.66, -2.74, -0.1745])
    high = np.array([1.9, 1.7, 1.69, 1.66, 2.84, 1.745])
    return JointUnits(low, high)


def test_arm_joints_are_degrees_and_gripper_is_percent():
    units = make_units()
    q = np.array([np.pi / 2, 0.0, -np.pi / 4, 0.1, 0.0, units.low_rad[5]])
    lerobot = units.to_lerobot(q)
    np.testing.assert_allclose(lerobot[:5], np.rad2deg(q[:5]), rtol=1e-6)
    assert lerobot[5] == pytest.approx(0.0)
    assert units.to_lerobot(units.high_rad)[5] == pytest.approx(100.0)
    assert lerobot.dtype == np.float32


def test_round_trip():
    units = make_units()
    q = np.random.default_rng(0).uniform(units.low_rad, units.high_rad, size=(20, 6))
    np.testing.assert_allclose(units.to_radians(units.to_lerobot(q)), q, atol=1e-5)


def test_non_finite_action_names_the_joint():
    action = np.zeros(6)
    action[3] = np.nan
    action[5] = np.inf
    with pytest.raises(ValueError, match=r"wrist_flex\.pos=nan.*gripper\.pos=inf"):
        check_finite_action(action)
    check_finite_action(np.zeros(6))  # finite: no error
    assert ACTION_NAMES[0] == "shoulder_pan.pos"
