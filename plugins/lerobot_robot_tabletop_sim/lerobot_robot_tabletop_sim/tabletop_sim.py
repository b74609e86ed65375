"""`TabletopSim`: LeRobot's `Robot` contract over `sim.env.TabletopEnv`, in so101_follower units.

Observation (`get_observation`), as `so101_follower` with cameras named `front` and `wrist`:
    "<motor>.pos": float     measured joint position; degrees, gripper 0..100 (`sim.robot.ACTION_NAMES`)
    "front", "wrist":        (H, W, 3) uint8 camera frames
Action (`send_action`): {"<motor>.pos": float} absolute joint targets in the same units; each step of the
simulation is one control period (1/30 s). Targets beyond a joint's limits are clipped (as the real servos
clamp), and the clipped action is returned; a missing joint or a NaN/inf target raises ValueError naming
the joint, and the arm does not move.

Any thread may call the robot (ROS executors, LeRobot's threaded inference): the simulator lives on one
worker thread of its own, because MuJoCo's EGL renderer can only draw in the thread that created it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from lerobot.lerobot_types import RobotAction, RobotObservation
from lerobot.robots.robot import Robot
from lerobot.utils.decorators import check_if_already_connected, check_if_not_connected

from lerobot_robot_tabletop_sim.config_tabletop_sim import TabletopSimConfig
from sim.env import TabletopEnv
from sim.render import CAMERA_NAMES
from sim.robot import ACTION_NAMES, check_finite_action
from sim.scene import SceneConfig

logger = logging.getLogger(__name__)


def motor_features() -> dict[str, type]:
    """{"<motor>.pos": float} in `sim.robot.ACTION_NAMES` order: the arm's part of this robot's observation
    and its action, and the `tabletop_keyboard` teleoperator's action (a new dict per call)."""
    return dict.fromkeys(ACTION_NAMES, float)


# Connected simulators by robot id, so a teleoperator in the same process (the scripted expert standing in
# for a person, `lerobot_teleoperator_tabletop`) can read the scene it acts on.
_CONNECTED: dict[str | None, TabletopSim] = {}


def connected_sim(robot_id: str | None = None) -> TabletopSim:
    """The connected `TabletopSim` with this id (None: the only one connected); a clear error otherwise."""
    if robot_id in _CONNECTED:
        return _CONNECTED[robot_id]
    if robot_id is None and len(_CONNECTED) == 1:
        return next(iter(_CONNECTED.values()))
    known = sorted(str(key) for key in _CONNECTED) or "none"
    raise LookupError(
        f"no connected tabletop_sim robot with id {robot_id!r} in this process (connected: {known})"
    )


class TabletopSim(Robot):
    """The simulated SO-101; see the module docstring for the observation and action contract."""

    config_class = TabletopSimConfig
    name = "tabletop_sim"

    def __init__(self, config: TabletopSimConfig):
        super().__init__(config)
        self.config = config
        scene = SceneConfig()
        # What LeRobot's tools count (`len(robot.cameras)`); frames come from the simulator's camera rig.
        self.cameras: dict[str, tuple[int, int, int]] = {
            name: (scene.image_height, scene.image_width, 3) for name in CAMERA_NAMES
        }
        self.env: TabletopEnv | None = None
        self._sim_thread: ThreadPoolExecutor | None = None  # builds, steps, renders and closes `env`
        self.episode_seed = config.seed
        self._observation: dict | None = None
        self._episode_over = False
        self.steps = 0  # control steps since connect
        self.successes = 0  # episodes whose task succeeded since connect

    # ----- features (valid before connect) -----
    @property
    def observation_features(self) -> dict[str, type | tuple]:
        return {**motor_features(), **self.cameras}

    @property
    def action_features(self) -> dict[str, type]:
        return motor_features()

    # ----- connection -----
    @property
    def is_connected(self) -> bool:
        return self.env is not None

    @check_if_already_connected
    def connect(self, calibrate: bool = True) -> None:
        """Build the scene (MuJoCo model, headless renderer) and lay out the first episode."""
        config = self.config
        sim_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tabletop_sim")
        try:
            self.env = sim_thread.submit(
                TabletopEnv,
                task=config.task,
                suite=config.suite,
                instructions=config.instructions,
                episode_seconds=config.episode_seconds or None,
            ).result()
        except BaseException:
            sim_thread.shutdown()
            raise
        self._sim_thread = sim_thread
        self.configure()
        self.reset_scene(self.config.seed)
        _CONNECTED[self.id] = self

    @property
    def is_calibrated(self) -> bool:
        return True  # simulated joints report their true angles

    def calibrate(self) -> None:
        """Nothing to calibrate: the simulator's zero is so101_follower's degree-mode zero (`sim.robot`)."""

    def configure(self) -> None:
        """Nothing to configure: gains and limits come with the MJCF."""

    @check_if_not_connected
    def disconnect(self) -> None:
        logger.info(
            "%s: disconnected after %d control steps; %d episode(s) succeeded; joints %s",
            self,
            self.steps,
            self.successes,
            _rounded(self.env.joint_positions()),
        )
        _CONNECTED.pop(self.id, None)
        self._on_sim_thread(self.env.close)
        self._sim_thread.shutdown()
        self.env, self._sim_thread = None, None

    # ----- episodes -----
    @check_if_not_connected
    def reset_scene(self, seed: int | None = None) -> None:
        """Lay the table out for a new episode: `seed`, or the seed after the last one."""
        self.episode_seed = self.episode_seed + 1 if seed is None else seed
        self._observation, _ = self._on_sim_thread(self.env.reset, seed=self.episode_seed)
        self._episode_over = False
        logger.info(
            "%s: %s (seed %d), instruction %r; joints %s",
            self,
            self.env.task,
            self.episode_seed,
            self.instruction,
            _rounded(self._observation["agent_pos"]),
        )

    @property
    def instruction(self) -> str:
        """This episode's instruction (what `--dataset.single_task` / `--task` should say)."""
        return self.env.task_description if self.env is not None else ""

    @property
    def episode_over(self) -> bool:
        """The task succeeded or reached its time limit since the last reset."""
        return self._episode_over

    # ----- the control loop -----
    @check_if_not_connected
    def get_observation(self) -> RobotObservation:
        if self._episode_over and self.config.auto_reset:
            self.reset_scene()
        joints = self._observation["agent_pos"]
        observation: dict = {name: float(value) for name, value in zip(ACTION_NAMES, joints, strict=True)}
        for camera in self.cameras:
            observation[camera] = self._observation["pixels"][camera]
        return observation

    @check_if_not_connected
    def send_action(self, action: RobotAction) -> RobotAction:
        missing = [name for name in ACTION_NAMES if name not in action]
        if missing:
            raise ValueError(
                f"tabletop_sim action is missing joint(s) {missing}; expected {list(ACTION_NAMES)}"
            )
        target = np.array([float(action[name]) for name in ACTION_NAMES])
        check_finite_action(target)
        target = np.clip(target, self.env.units.low, self.env.units.high)
        self._observation, _, terminated, truncated, info = self._on_sim_thread(self.env.step, target)
        self.steps += 1
        if not self._episode_over and (terminated or truncated):
            self._episode_over = True
            self.successes += int(info["is_success"])
            outcome = "succeeded" if info["is_success"] else "ended without success"
            logger.info("%s: %s (seed %d) %s", self, self.env.task, self.episode_seed, outcome)
        return {name: float(value) for name, value in zip(ACTION_NAMES, target, strict=True)}

    def _on_sim_thread(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` run on the simulator's thread; its result, or its exception."""
        return self._sim_thread.submit(function, *args, **kwargs).result()


def _rounded(joints: np.ndarray) -> list[float]:
    """Joint positions for a log line: degrees (gripper %) to 1e-3."""
    return [round(float(value), 3) for value in joints]
