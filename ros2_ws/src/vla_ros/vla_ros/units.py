"""ROS joint positions (radians, REP 103) <-> the policy's so101_follower units (degrees, gripper 0-100).

Arm joints are a plain rad <-> deg (the SO-101 "new calibration" puts zero mid-range in both). The
gripper percentage maps linearly onto the gripper joint's range [closed, open] in radians, which the
robot config (config/so101.yaml) gives. The conversion itself is the shared contract's (`vla.contract`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vla.contract import policy_to_radians, radians_to_policy


@dataclass(frozen=True)
class PolicyUnits:
    joint_names: tuple[str, ...]
    gripper_joint: str  # the joint whose policy unit is a percentage
    gripper_closed_rad: float
    gripper_open_rad: float

    def __post_init__(self) -> None:
        if self.gripper_joint not in self.joint_names:
            raise ValueError(
                f"gripper_joint {self.gripper_joint!r} is not in joint_names {list(self.joint_names)}"
            )
        if self.gripper_open_rad == self.gripper_closed_rad:
            raise ValueError("gripper_range_rad: closed and open are equal")

    @property
    def _gripper(self) -> int:
        return self.joint_names.index(self.gripper_joint)

    def to_policy(self, radians: np.ndarray) -> np.ndarray:
        """(..., J) radians -> (..., J) float32 degrees, gripper in percent."""
        return radians_to_policy(radians, self._gripper, self.gripper_closed_rad, self.gripper_open_rad)

    def to_ros(self, policy: np.ndarray) -> np.ndarray:
        """(..., J) degrees / percent -> (..., J) float64 radians."""
        return policy_to_radians(policy, self._gripper, self.gripper_closed_rad, self.gripper_open_rad)


def ordered_positions(
    names: Sequence[str], positions: Sequence[float], joint_names: Sequence[str]
) -> np.ndarray:
    """A JointState's positions in `joint_names` order; raises naming missing or non-finite joints."""
    if len(positions) != len(names):
        raise ValueError(f"joint_states: {len(names)} names but {len(positions)} positions")
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in joint_names if name not in index]
    if missing:
        raise ValueError(f"joint_states: missing joint(s) {missing}; got {list(names)}")
    values = np.array([positions[index[name]] for name in joint_names], np.float64)
    bad = [name for name, value in zip(joint_names, values, strict=True) if not np.isfinite(value)]
    if bad:
        raise ValueError(f"joint_states: non-finite position for joint(s) {bad}")
    return values
