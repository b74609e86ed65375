"""Cartesian jogging: keys move the target, IK follows it, the workspace bounds hold."""

import numpy as np
import pytest

from sim.env import HOME_POSE
from sim.expert import GRIPPER_CLOSED, GRIPPER_OPEN
from sim.ik import ArmIK
from sim.scene import build_scene
from sim.teleop import WORKSPACE_M, CartesianTeleop


@pytest.fixture(scope="module")
def teleop():
    return CartesianTeleop(ArmIK(build_scene()))


def start(teleop: CartesianTeleop) -> np.ndarray:
    teleop.reset(np.deg2rad(HOME_POSE[:5].astype(float)), GRIPPER_OPEN)
    return teleop.target.position.copy()


def test_keys_jog_the_target(teleop):
    origin = start(teleop)
    for key in "www":
        assert teleop.press(key)
    teleop.press("a")
    teleop.press("f")
    expected = origin + teleop.step_m * np.array([3, 1, -1])
    np.testing.assert_allclose(teleop.target.position, expected, atol=1e-9)
    assert not teleop.press("z")  # not a jog key


def test_gripper_toggles(teleop):
    start(teleop)
    teleop.press(" ")
    assert teleop.target.gripper == GRIPPER_CLOSED
    teleop.press(" ")
    assert teleop.target.gripper == GRIPPER_OPEN


def test_target_stays_in_the_workspace(teleop):
    start(teleop)
    for _ in range(200):
        teleop.press("r")
        teleop.press("d")
    assert teleop.target.position[2] == pytest.approx(WORKSPACE_M[2][1])
    assert teleop.target.position[1] == pytest.approx(WORKSPACE_M[1][0])


def test_action_reaches_the_target(teleop):
    start(teleop)
    for key in "ffffff":  # 36 mm down: low enough for vertical jaws
        teleop.press(key)
    action = teleop.action()
    assert action.shape == (6,) and action.dtype == np.float32
    position, rotation = teleop.ik.forward(np.deg2rad(action[:5].astype(float)))
    np.testing.assert_allclose(position, teleop.target.position, atol=2e-3)
    assert rotation[2, 0] == pytest.approx(-1.0, abs=0.02)  # approach axis points down
