"""`TabletopKeyboard`: key presses (or the scripted expert) -> so101_follower joint targets for the sim.

Keys jog the gripper's target pose in Cartesian space and the scripted expert's IK turns it into joint
targets (`sim.teleop.CartesianTeleop`); `p` hands control to the task's scripted expert and back, as in
`vla record --source keyboard`. The keys are `KEYS`: those of `vla record`, except that up/down and yaw
move off `r`, `f`, `q`, `e`, because `lerobot-record` listens for `n`, `r` and `q` itself (next episode,
re-record, quit). The teleoperator reads the scene of the `tabletop_sim` robot it drives
(`lerobot_robot_tabletop_sim.connected_sim`), which must run in the same process: the expert plans from
where the objects are, and jogging starts from where the arm is at each new episode.

Action (`get_action`): {"<motor>.pos": float}, degrees, gripper 0..100 (`sim.robot.ACTION_NAMES`).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack

import numpy as np
from lerobot.lerobot_types import RobotAction
from lerobot.teleoperators.teleoperator import Teleoperator
from lerobot.utils.decorators import check_if_already_connected, check_if_not_connected
from lerobot_robot_tabletop_sim import TabletopSim, connected_sim, motor_features

from lerobot_teleoperator_tabletop.config_tabletop_keyboard import TabletopKeyboardConfig
from sim.robot import ACTION_NAMES, ARM_JOINTS
from sim.rollout import ExpertRunner
from sim.teleop import GRIPPER_KEY, CartesianTeleop
from vla.record_keyboard import cbreak_terminal, read_keys

AUTOPILOT_KEY = "p"
# This teleoperator's key -> the `sim.teleop` jog key it presses: w/s x, a/d y, t/g z, z/x yaw, space gripper.
KEYS: dict[str, str] = {"w": "w", "s": "s", "a": "a", "d": "d", "t": "r", "g": "f", "z": "q", "x": "e"}
KEYS[GRIPPER_KEY] = GRIPPER_KEY


class TabletopKeyboard(Teleoperator):
    """Keyboard (or scripted-expert) teleoperation of a `tabletop_sim` robot; see the module docstring."""

    config_class = TabletopKeyboardConfig
    name = "tabletop_keyboard"

    def __init__(self, config: TabletopKeyboardConfig):
        super().__init__(config)
        self.config = config
        self.autopilot = config.autopilot
        self._terminal: ExitStack | None = None
        self._fd: int | None = None
        self._sim: TabletopSim | None = None
        self._episode_seed: int | None = None  # the sim's episode the expert and the jog target belong to
        self._expert: ExpertRunner | None = None
        self._teleop: CartesianTeleop | None = None

    @property
    def action_features(self) -> dict[str, type]:
        return motor_features()  # the robot's joints, so `lerobot-record` pairs them one to one

    @property
    def feedback_features(self) -> dict:
        return {}

    @property
    def is_connected(self) -> bool:
        return self._terminal is not None

    @check_if_already_connected
    def connect(self, calibrate: bool = True) -> None:
        """Put the terminal in single-key mode; without autopilot a terminal is required."""
        self._terminal = ExitStack()
        if sys.stdin.isatty():
            self._fd = self._terminal.enter_context(cbreak_terminal(sys.stdin))
        elif not self.autopilot:
            self._terminal = None
            raise ValueError(
                "--teleop.type=tabletop_keyboard needs an interactive terminal (stdin is not a TTY); "
                "pass --teleop.autopilot=true to let the scripted expert drive"
            )

    @property
    def is_calibrated(self) -> bool:
        return True

    def calibrate(self) -> None:
        """Nothing to calibrate: a keyboard."""

    def configure(self) -> None:
        """Nothing to configure."""

    @check_if_not_connected
    def disconnect(self) -> None:
        self._terminal.close()  # restores the terminal
        self._terminal, self._fd = None, None

    def send_feedback(self, feedback: dict) -> None:
        """No feedback channel (a keyboard)."""

    @check_if_not_connected
    def get_action(self) -> RobotAction:
        """The joint targets for this control tick, after the keys typed since the last one."""
        self._follow_episode()
        for key in read_keys(self._fd, 0.0) if self._fd is not None else "":
            self.press(key)
        targets = self._expert.act() if self.autopilot else self._teleop.action()
        return {name: float(value) for name, value in zip(ACTION_NAMES, targets, strict=True)}

    def press(self, key: str) -> None:
        """One key press: `p` toggles the scripted expert; jog keys (`KEYS`) move the target while it is
        off; other keys do nothing."""
        self._follow_episode()
        if key == AUTOPILOT_KEY:
            self.autopilot = not self.autopilot
            self._start_from_scene()
        elif not self.autopilot and key in KEYS:
            self._teleop.press(KEYS[key])

    def _follow_episode(self) -> None:
        """Find the simulated robot, and start again from its scene whenever it lays out a new episode."""
        if self._sim is None:
            self._sim = connected_sim(self.config.robot_id)
            self._expert = ExpertRunner(self._sim.env)
            # One IK for both drivers; only one of them drives at a time.
            self._teleop = CartesianTeleop(self._expert.expert.ik, step_m=self.config.step_mm / 1000.0)
        if self._episode_seed != self._sim.episode_seed:
            self._episode_seed = self._sim.episode_seed
            self._start_from_scene()

    def _start_from_scene(self) -> None:
        """Plan the expert from the scene as it is, and put the jog target where the gripper is."""
        joints = self._sim.env.joint_positions()  # (6,) degrees, gripper %
        if self.autopilot:
            self._expert.start({"agent_pos": joints})
        else:
            self._teleop.reset(np.deg2rad(joints[: len(ARM_JOINTS)].astype(float)), float(joints[-1]))
