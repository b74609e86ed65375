"""Inverse kinematics for the SO-101 gripper: damped least squares on MuJoCo's site Jacobian.

The arm has 5 joints before the gripper. A top-down grasp (approach axis pointing down) with a
chosen jaw yaw is still a full 6-D target that the arm can reach, because with the approach axis
vertical the pan and the wrist roll both turn the jaws about the same axis. Used by the scripted
experts and by keyboard teleoperation (Cartesian jogging).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from sim.robot import ARM_JOINTS, GRIPPER_SITE

ROTATION_WEIGHT_M = 0.05  # metres of position error that one radian of orientation error is worth


def top_down_rotation(yaw: float) -> np.ndarray:
    """(3, 3) world rotation of the gripper site for a vertical approach with the jaws closing along yaw.

    Site axes: x = approach direction (down), z = jaw closing direction (horizontal, at `yaw`).
    """
    approach = np.array([0.0, 0.0, -1.0])
    closing = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    return np.stack([approach, np.cross(closing, approach), closing], axis=1)


def nearest_grasp_yaw(cube_yaw: float, azimuth: float) -> float:
    """Of the four equivalent jaw yaws for a cube (cube_yaw + k*90 deg), the one closest to radial.

    Radial jaws need the least wrist roll; `azimuth` is the direction of the cube from the base.
    """
    candidates = cube_yaw + np.arange(-4, 5) * (np.pi / 2)
    return float(candidates[np.argmin(np.abs(np.angle(np.exp(1j * (candidates - azimuth)))))])


@dataclass
class IKResult:
    q: np.ndarray  # (5,) arm joint angles, rad
    position_error_m: float
    rotation_error_rad: float


class ArmIK:
    """Solves arm joint angles (rad, shape (5,)) putting the gripper site at a pose.

    Owns a private MjData so solving never disturbs the simulation state.
    """

    def __init__(self, model: mujoco.MjModel, damping: float = 1e-3, max_step_rad: float = 0.2):
        self.model = model
        self.data = mujoco.MjData(model)
        self.site_id = model.site(GRIPPER_SITE).id
        joints = [model.joint(name) for name in ARM_JOINTS]
        self.qpos_adr = np.array([j.qposadr[0] for j in joints])
        self.dof_adr = np.array([j.dofadr[0] for j in joints])
        self.low = np.array([j.range[0] for j in joints])
        self.high = np.array([j.range[1] for j in joints])
        self.damping = damping
        self.max_step_rad = max_step_rad
        self._jac_pos = np.zeros((3, model.nv))
        self._jac_rot = np.zeros((3, model.nv))

    def forward(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Site position (3,) and rotation (3, 3) for arm angles q (5,)."""
        self.data.qpos[self.qpos_adr] = q
        mujoco.mj_kinematics(self.model, self.data)
        return self.data.site_xpos[self.site_id].copy(), self.data.site_xmat[self.site_id].reshape(
            3, 3
        ).copy()

    def solve(
        self,
        target_pos: np.ndarray,
        target_rot: np.ndarray,
        q_init: np.ndarray,
        iterations: int = 60,
        tolerance_m: float = 2e-4,
        rotation_weight_m: float = ROTATION_WEIGHT_M,
    ) -> IKResult:
        """Iterate DLS from `q_init` (5,) towards the site pose; joint limits are enforced each step.

        A small `rotation_weight_m` trades orientation for position: above ~7 cm the wrist_flex limit
        (95 deg) makes a strictly vertical approach unreachable, so carrying phases relax it.
        """
        q = np.clip(np.asarray(q_init, float).copy(), self.low, self.high)
        for _ in range(iterations):
            pos, rot = self.forward(q)
            err_pos = target_pos - pos
            # Orientation error as a rotation vector (small-angle form, Siciliano et al. 3.7.3).
            err_rot = 0.5 * sum(np.cross(rot[:, i], target_rot[:, i]) for i in range(3))
            if (
                np.linalg.norm(err_pos) < tolerance_m
                and np.linalg.norm(err_rot) * rotation_weight_m < tolerance_m
            ):
                break
            mujoco.mj_comPos(self.model, self.data)
            mujoco.mj_jacSite(self.model, self.data, self._jac_pos, self._jac_rot, self.site_id)
            jac = np.vstack(
                [self._jac_pos[:, self.dof_adr], rotation_weight_m * self._jac_rot[:, self.dof_adr]]
            )
            err = np.concatenate([err_pos, rotation_weight_m * err_rot])
            step = self._dls_step(jac, err)
            # A joint pinned at a limit and pushed outward is dropped and the step re-solved without it,
            # so the other joints take over its share instead of the whole solve stalling.
            pinned = ((q <= self.low + 1e-6) & (step < 0)) | ((q >= self.high - 1e-6) & (step > 0))
            if pinned.any():
                step = self._dls_step(jac * ~pinned, err)
            step *= min(1.0, self.max_step_rad / (np.abs(step).max() + 1e-12))
            q = np.clip(q + step, self.low, self.high)
        pos, rot = self.forward(q)
        rot_err = 0.5 * sum(np.cross(rot[:, i], target_rot[:, i]) for i in range(3))
        return IKResult(q, float(np.linalg.norm(target_pos - pos)), float(np.linalg.norm(rot_err)))

    def _dls_step(self, jac: np.ndarray, err: np.ndarray) -> np.ndarray:
        """Damped least-squares step (5,) for Jacobian (6, 5) and error (6,)."""
        return jac.T @ np.linalg.solve(jac @ jac.T + self.damping**2 * np.eye(len(err)), err)
