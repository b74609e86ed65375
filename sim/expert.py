"""Scripted experts: a Cartesian waypoint plan per task family, followed through inverse kinematics.

The expert reads privileged state (object poses) at reset, plans gripper-site waypoints, and each
control step interpolates the current target (min-jerk timing), solves IK warm-started from the
previous solution and returns an absolute joint target in so101_follower units: the same action a
policy or a teleoperator produces. Grasp and carry heights are in metres above the table top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.ik import ArmIK, nearest_grasp_yaw, top_down_rotation
from sim.robot import ARM_JOINTS
from sim.scene import BOWL_RADIUS, BOWL_WALL_HEIGHT, CUBE_HALF
from sim.tasks import AbsentTask, PickTask, PlaceTask, PushTask, SceneState, StackTask, Task
from sim.tasks.push import AWAY_END_M, PUSH_BEHIND_M, SIDE_END_M, PushAwayTask

GRIPPER_OPEN = 60.0  # %: moving pad 6.3 cm from the grasp centre, the pads 8.3 cm apart around a 3 cm cube
GRIPPER_CLOSED = 0.0  # %: commanded fully closed; the cube stops the jaw and sets the grip force
GRASP_Z = CUBE_HALF + 0.002  # site height at grasp: pads centred on the cube
HOVER_Z = 0.065  # above the cubes, still low enough for a vertical approach
CARRY_Z = 0.10  # transport height, above bowl walls and other cubes
RELAXED_ROTATION_WEIGHT_M = 0.004  # above HOVER_Z the wrist cannot stay vertical (see ArmIK.solve)


@dataclass(frozen=True)
class Waypoint:
    """Reach `pos` (3,) with jaw `yaw` and gripper command `gripper` (%) `duration_s` after the last one."""

    pos: np.ndarray
    yaw: float
    gripper: float
    duration_s: float
    vertical: bool = True  # hold the approach axis vertical (needs pos z below ~7 cm)


def wrap_angle(angle: float) -> float:
    """Angle wrapped to [-pi, pi)."""
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def min_jerk(s: float) -> float:
    """Minimum-jerk time scaling of s in [0, 1] (Flash & Hogan, 1985)."""
    s = min(max(s, 0.0), 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


class ScriptedExpert:
    """Plans at `reset(task, state, q)` and returns one action per `act(t)` call.

    `q` is the measured arm pose (5,) in radians at reset; actions are (6,) so101_follower units.
    """

    def __init__(self, ik: ArmIK):
        self.ik = ik
        self.plan: list[Waypoint] = []
        self._q = np.zeros(len(ARM_JOINTS))
        self._step = 0
        self._start: Waypoint | None = None
        self.control_dt = 1.0 / 30.0

    def reset(
        self, task: Task, state: SceneState, q_arm: np.ndarray, gripper: float, control_hz: float
    ) -> None:
        self.control_dt = 1.0 / control_hz
        self._q = np.asarray(q_arm, float).copy()
        pos, rot = self.ik.forward(self._q)
        jaw_yaw = float(np.arctan2(rot[1, 2], rot[0, 2]))  # site z axis = jaw closing direction
        self._start = Waypoint(pos, yaw=jaw_yaw, gripper=gripper, duration_s=0.0, vertical=False)
        self.plan = plan_for(task, state)
        self._step = 0

    def act(self) -> np.ndarray:
        """Next action (6,) float32: arm joint targets in degrees, gripper in %."""
        t = self._step * self.control_dt
        self._step += 1
        previous = self._start
        for waypoint in self.plan:
            if t < waypoint.duration_s:
                s = min_jerk(t / waypoint.duration_s)
                pos = previous.pos + s * (waypoint.pos - previous.pos)
                yaw = previous.yaw + s * wrap_angle(waypoint.yaw - previous.yaw)
                gripper = waypoint.gripper
                vertical = waypoint.vertical and previous.vertical
                break
            t -= waypoint.duration_s
            previous = waypoint
        else:  # plan finished: hold the last pose
            pos, yaw, gripper, vertical = previous.pos, previous.yaw, previous.gripper, previous.vertical
        weight = None if vertical else RELAXED_ROTATION_WEIGHT_M
        kwargs = {} if weight is None else {"rotation_weight_m": weight}
        self._q = self.ik.solve(pos, top_down_rotation(yaw), self._q, iterations=30, **kwargs).q
        return np.concatenate([np.rad2deg(self._q), [gripper]]).astype(np.float32)


# Where the open fingertip pads sit relative to the grasp centre, along the jaw-closing direction (m),
# probed from the MJCF at GRIPPER_OPEN (the moving pad sits at 46 / 58 / 63 mm at 45 / 55 / 60 % open; the
# fixed pad does not move).
FIXED_PAD_OFFSET_M, MOVING_PAD_OFFSET_M = -0.020, 0.063
# The jaws descend with the cube centred between the open pads: the grasp centre this far short of the
# cube's centre, each pad ~21 mm clear of a cube square to the jaws and ~15 mm of one turned 45 deg, and
# closing slides the cube against the fixed pad, onto the grasp centre. Aimed at the cube's centre, the
# fixed pad had no clearance at all (docs/LOG.md, 2026-12-01); at 45 % open each pad had 12.5 mm, and a
# 2 deg bias in the arm's joints failed 44 of 96 expert episodes against 31 at 60 % (docs/RESULTS.md).
APPROACH_OFFSET_M = (FIXED_PAD_OFFSET_M + MOVING_PAD_OFFSET_M) / 2
PAD_CLEARANCE_M = 0.008  # wanted gap between a pad and any other object


def _pad_clearance(state: SceneState, colour: str, yaw: float) -> float:
    """Smallest gap (m) between the open pads, lowered around `colour`, and the other objects."""
    centre = state.cube_pos[colour][:2]
    direction = np.array([np.cos(yaw), np.sin(yaw)])
    pads = [
        centre + (offset - APPROACH_OFFSET_M) * direction
        for offset in (FIXED_PAD_OFFSET_M, MOVING_PAD_OFFSET_M)
    ]
    gaps = [np.inf]
    for other, pos in state.cube_pos.items():
        if other != colour and pos[2] > -0.1:  # parked cubes lie on the floor far below
            gaps += [np.linalg.norm(pad - pos[:2]) - CUBE_HALF * np.sqrt(2) - 0.005 for pad in pads]
    for pos in state.bowl_pos.values():
        if pos[2] > -0.1:
            gaps += [abs(np.linalg.norm(pad - pos[:2]) - BOWL_RADIUS - 0.003) - 0.008 for pad in pads]
    return float(min(gaps))


def _grasp_yaw(state: SceneState, colour: str) -> float:
    """Jaw yaw for grasping `colour`: radial (along the line from the base) or a quarter or half turn
    from it, the first whose open pads clear the neighbours; else the one with the most room.

    Radial, not aligned with the cube's faces: the cube's yaw is not in `environment_state`, and a
    face-aligned grasp moves the pan the grasp needs by a median 3.8 deg (p90 7.7 deg, ~13 mm at the cube)
    and the wrist roll by a median 27 deg with it, so a policy had to read a 3 cm cube's rotation off the
    camera images to place the jaws. The open pads clear a cube square to them by ~21 mm a side and one
    turned 45 deg by ~15 mm (its half-diagonal is 6 mm longer than its half-width), and closing squares it
    between them. Expert success 99.5 % at 60 % open (99.8 % at 45; docs/RESULTS.md).
    """
    xy = state.cube_pos[colour][:2]
    radial = float(np.arctan2(xy[1], xy[0]))
    candidates = radial + np.array([0.0, np.pi / 2, -np.pi / 2, np.pi])  # least roll first
    clearances = [_pad_clearance(state, colour, yaw) for yaw in candidates]
    for yaw, clearance in zip(candidates, clearances, strict=True):
        if clearance >= PAD_CLEARANCE_M:
            return float(yaw)
    return float(candidates[int(np.argmax(clearances))])


def _cube_yaw(state: SceneState, colour: str) -> float:
    return float(state.cube_yaw.get(colour, 0.0))


def pick_waypoints(state: SceneState, colour: str) -> list[Waypoint]:
    """Hover over the cube, descend with it centred between the open pads, close, lift to carry height."""
    yaw = _grasp_yaw(state, colour)
    xy = state.cube_pos[colour][:2] - APPROACH_OFFSET_M * np.array([np.cos(yaw), np.sin(yaw)])
    return [
        Waypoint(np.array([*xy, HOVER_Z]), yaw, GRIPPER_OPEN, 1.2),
        Waypoint(np.array([*xy, GRASP_Z]), yaw, GRIPPER_OPEN, 0.8),
        Waypoint(np.array([*xy, GRASP_Z]), yaw, GRIPPER_CLOSED, 0.8),
        Waypoint(np.array([*xy, CARRY_Z]), yaw, GRIPPER_CLOSED, 0.9, vertical=False),
    ]


def release_waypoints(target_xy: np.ndarray, release_z: float, yaw: float) -> list[Waypoint]:
    """From carry height: move over the target, lower, open, back up."""
    return [
        Waypoint(np.array([*target_xy, CARRY_Z]), yaw, GRIPPER_CLOSED, 1.2, vertical=False),
        Waypoint(
            np.array([*target_xy, release_z]), yaw, GRIPPER_CLOSED, 0.7, vertical=release_z < HOVER_Z + 1e-6
        ),
        Waypoint(
            np.array([*target_xy, release_z]), yaw, GRIPPER_OPEN, 0.5, vertical=release_z < HOVER_Z + 1e-6
        ),
        Waypoint(np.array([*target_xy, CARRY_Z]), yaw, GRIPPER_OPEN, 0.7, vertical=False),
    ]


def plan_for(task: Task, state: SceneState) -> list[Waypoint]:
    """The waypoint plan for any task of the suite, from the state at reset. An absent-object task's plan
    is empty: the arm holds the pose it was reset to, touching nothing (sim/tasks/absent.py)."""
    if isinstance(task, AbsentTask):
        return []
    if isinstance(task, PickTask):
        return pick_waypoints(state, task.slots["cube"])
    if isinstance(task, PlaceTask):
        cube, bowl = task.slots["cube"], task.slots["bowl"]
        grasp = pick_waypoints(state, cube)
        release_z = BOWL_WALL_HEIGHT + CUBE_HALF + 0.02
        return grasp + release_waypoints(state.bowl_pos[bowl][:2], release_z, grasp[-1].yaw)
    if isinstance(task, StackTask):
        cube, base = task.slots["cube"], task.slots["base"]
        grasp = pick_waypoints(state, cube)
        base_xy = state.cube_pos[base][:2]
        # Align the carried cube with the base: any of the base's face yaws, the one nearest the grasp yaw.
        yaw = float(nearest_grasp_yaw(_cube_yaw(state, base), grasp[-1].yaw))
        release_z = state.cube_pos[base][2] + 2 * CUBE_HALF + (GRASP_Z - CUBE_HALF) + 0.004
        return grasp + release_waypoints(base_xy, release_z, yaw)
    if isinstance(task, PushTask):
        return push_waypoints(state, task.slots["cube"], task.sign)
    if isinstance(task, PushAwayTask):
        return push_away_waypoints(state, task.slots["cube"])
    raise TypeError(f"no scripted expert for task family {task.family!r}")


def push_waypoints(state: SceneState, colour: str, sign: float) -> list[Waypoint]:
    """Closed jaws lowered beside the cube (on the far side from the goal), then swept across the line."""
    x, y = state.cube_pos[colour][:2]
    yaw = np.pi / 2  # jaws side by side along y: the pushing face is flat and square to the motion
    push_z = 0.02
    behind = y - sign * PUSH_BEHIND_M
    end = sign * SIDE_END_M - sign * 0.025  # the cube centre ends ~4.5 cm past the line
    return [
        Waypoint(np.array([x, behind, HOVER_Z]), yaw, GRIPPER_CLOSED, 1.2),
        Waypoint(np.array([x, behind, push_z]), yaw, GRIPPER_CLOSED, 0.7),
        Waypoint(np.array([x, end, push_z]), yaw, GRIPPER_CLOSED, 2.0),
        Waypoint(np.array([x, end, HOVER_Z]), yaw, GRIPPER_CLOSED, 0.6),
    ]


def push_away_waypoints(state: SceneState, colour: str) -> list[Waypoint]:
    """`push_waypoints` turned to +x: closed jaws lowered between the base and the cube, then swept out
    along the line from the base until the cube centre is ~3.5 cm past the line."""
    x, y = state.cube_pos[colour][:2]
    yaw = 0.0  # jaws side by side along x: the pushing face is flat and square to the motion
    push_z = 0.02
    behind = x - PUSH_BEHIND_M
    end = AWAY_END_M - 0.025
    return [
        Waypoint(np.array([behind, y, HOVER_Z]), yaw, GRIPPER_CLOSED, 1.2),
        Waypoint(np.array([behind, y, push_z]), yaw, GRIPPER_CLOSED, 0.7),
        Waypoint(np.array([end, y, push_z]), yaw, GRIPPER_CLOSED, 2.0),
        Waypoint(np.array([end, y, HOVER_Z]), yaw, GRIPPER_CLOSED, 0.6),
    ]
