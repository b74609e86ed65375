"""Cartesian teleoperation of the gripper: keys jog a target pose, the expert's IK follows it.

Pure logic (no terminal, no display): `vla record --source keyboard` feeds it key presses, tests feed it
strings. The target is the grasp centre between the fingertips, in world metres, with a jaw yaw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.expert import GRIPPER_CLOSED, GRIPPER_OPEN, HOVER_Z, RELAXED_ROTATION_WEIGHT_M
from sim.ik import ROTATION_WEIGHT_M, ArmIK, top_down_rotation

# key -> (dx, dy, dz) unit direction in the world frame (x forward from the robot, y to its left, z up)
MOVE_KEYS: dict[str, tuple[float, float, float]] = {
    "w": (1, 0, 0),
    "s": (-1, 0, 0),
    "a": (0, 1, 0),
    "d": (0, -1, 0),
    "r": (0, 0, 1),
    "f": (0, 0, -1),
}
YAW_KEYS: dict[str, float] = {"q": 1.0, "e": -1.0}
GRIPPER_KEY = " "
WORKSPACE_M = ((0.06, 0.34), (-0.28, 0.28), (0.008, 0.16))  # x, y, z bounds of the target


@dataclass
class TeleopTarget:
    position: np.ndarray  # (3,) metres
    yaw: float  # rad, jaw closing direction
    gripper: float  # % (0 closed, 100 open)


class CartesianTeleop:
    """Turns jog keys into absolute joint targets (6,) in so101_follower units through IK."""

    def __init__(self, ik: ArmIK, step_m: float = 0.006, step_yaw_rad: float = np.deg2rad(6.0)):
        self.ik = ik
        self.step_m = step_m
        self.step_yaw_rad = step_yaw_rad
        self.target = TeleopTarget(np.zeros(3), 0.0, GRIPPER_OPEN)
        self._q = np.zeros(5)

    def reset(self, q_arm: np.ndarray, gripper: float) -> None:
        """Start from the measured arm pose (5,) rad and gripper %."""
        self._q = np.asarray(q_arm, float).copy()
        position, rotation = self.ik.forward(self._q)
        yaw = float(np.arctan2(rotation[1, 2], rotation[0, 2]))
        self.target = TeleopTarget(self._clip(position), yaw, gripper)

    def press(self, key: str) -> bool:
        """Apply one key press; False if the key is not a jog key."""
        if key in MOVE_KEYS:
            step = self.step_m * np.array(MOVE_KEYS[key], dtype=float)
            self.target.position = self._clip(self.target.position + step)
        elif key in YAW_KEYS:
            self.target.yaw += YAW_KEYS[key] * self.step_yaw_rad
        elif key == GRIPPER_KEY:
            self.target.gripper = GRIPPER_CLOSED if self.gripper_open else GRIPPER_OPEN
        else:
            return False
        return True

    @property
    def gripper_open(self) -> bool:
        return self.target.gripper > (GRIPPER_OPEN + GRIPPER_CLOSED) / 2

    def action(self) -> np.ndarray:
        """Joint targets (6,) float32 for the current target pose (vertical jaws when low enough)."""
        weight = ROTATION_WEIGHT_M if self.target.position[2] <= HOVER_Z else RELAXED_ROTATION_WEIGHT_M
        result = self.ik.solve(
            self.target.position,
            top_down_rotation(self.target.yaw),
            self._q,
            iterations=30,
            rotation_weight_m=weight,
        )
        self._q = result.q
        return np.concatenate([np.rad2deg(self._q), [self.target.gripper]]).astype(np.float32)

    @staticmethod
    def _clip(position: np.ndarray) -> np.ndarray:
        low, high = np.array(WORKSPACE_M).T
        return np.clip(position, low, high)
