"""`TabletopEnv`: the tabletop task suite as a gymnasium environment.

Observation (LeRobot's gym convention, mapped by `lerobot.envs.utils.preprocess_observation` to
`observation.images.<camera>` and `observation.state`):
    pixels:    {"front": (H, W, 3) uint8, "wrist": (H, W, 3) uint8}
    agent_pos: (6,) float32 joint positions in so101_follower units (degrees; gripper 0..100)
    environment_state: (22,) float32 object positions in metres, world frame (`environment_state_names`):
               x, y, z of each cube, x, y of each bowl (zeros for an object the task leaves off the table),
               then x, y, z of the objects the instruction names: the cube to act on (`task_object`) and
               the bowl or cube it goes to (`task_destination`; zeros for pick; for a push, the fixed point
               on the named side the push takes the cube to, `sim.tasks.push.side_destination`; a bowl's
               z is 0).
               Privileged simulator state, as in gym_pusht's `environment_state` (LeRobot maps it to
               `observation.environment_state`): a training label; a policy input only in the
               perception diagnostics of `vla eval --oracle-objects`.
Action: (6,) absolute joint position targets in the same units and order (`sim.robot.ACTION_NAMES`).
    Targets beyond a joint's limits are clipped to the limit (the real servos clamp the same way);
    a NaN or infinite target raises ValueError naming the joint.
Control: 30 Hz (`SceneConfig.control_hz`), 16 physics substeps per control step.
Reward: 1.0 on the step the task's success predicate holds, which also terminates the episode;
episodes are truncated at the task's time limit.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import mujoco  # MUJOCO_GL is already set: importing any `sim` module runs sim/__init__.py first
import numpy as np

from sim.render import CameraRig
from sim.robot import ACTION_NAMES, ARM_JOINTS, GRIPPER_BODIES, JOINT_NAMES, JointUnits, check_finite_action
from sim.scene import CUBE_HALF, PARKED_Z, SceneConfig, build_scene
from sim.tasks import SceneState, Task, get_task, suite_tasks
from sim.tasks.push import SIDE_SIGN, side_destination

# Arm pose at reset, so101_follower units: gripper above the workspace, looking down, jaws half open.
HOME_POSE = np.array([0.0, -20.0, 10.0, 90.0, 0.0, 30.0], dtype=np.float32)
HOME_NOISE_DEG = 2.0  # uniform noise on each arm joint at reset so policies see varied starts


# The last entries of the environment state: where the objects the instruction names are. They depend on
# the instruction, not on the picture alone (vla/models/grounding_head.py reads them after the words).
TASK_STATE_NAMES: tuple[str, ...] = tuple(
    f"task_{o}.{axis}" for o in ("object", "destination") for axis in "xyz"
)


def environment_state_names(config: SceneConfig) -> list[str]:
    """Names of a scene's `environment_state` entries: x, y, z of each cube, x, y of each bowl, then the
    instruction's object and destination (`TASK_STATE_NAMES`)."""
    cubes = [f"{c}_cube.{axis}" for c in config.cube_colours for axis in "xyz"]
    return cubes + [f"{b}_bowl.{axis}" for b in config.bowl_colours for axis in "xy"] + list(TASK_STATE_NAMES)


def task_values(scene: np.ndarray, sources: np.ndarray, constants: np.ndarray | None = None) -> np.ndarray:
    """The `TASK_STATE_NAMES` values (..., 6) float32 copied out of scene values (..., S) at `sources`
    (`TabletopEnv.task_state_sources`); where a source is -1 they read `constants` (6,)
    (`TabletopEnv.task_state_constants`), or 0."""
    fixed = 0.0 if constants is None else constants
    return np.where(sources >= 0, scene[..., np.maximum(sources, 0)], fixed).astype(np.float32)


def fixed_destinations() -> dict[str, tuple[float, float, float]]:
    """The destinations that are places, not objects (x, y, z in m): the sides pushes go to, by name."""
    return {f"{side}_side": side_destination(side) for side in SIDE_SIGN}


class TabletopEnv(gym.Env):
    """Language-conditioned tabletop tasks on the SO-101. See the module docstring for the contract.

    `task`: a task name to run every episode, or None to draw one per reset (uniformly, seeded);
    `reset(options={"task": name})` overrides both. `instructions`: "train" or "heldout" paraphrases.
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        task: str | None = None,
        suite: str = "tabletop",
        instructions: str = "train",
        render_mode: str | None = "rgb_array",
        scene_config: SceneConfig | None = None,
        pixels: bool = True,
    ):
        """`pixels=False`: observations hold `agent_pos` only and no camera is ever rendered, for runs
        that need physics alone (expert checks, tolerance benches), ~7x faster on a CPU."""
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if not pixels and render_mode is not None:
            raise ValueError("pixels=False renders nothing: pass render_mode=None with it")
        self.suite = suite
        self.tasks = suite_tasks(suite)
        self.fixed_task = get_task(task, suite) if task is not None else None
        self.instruction_split = instructions
        self.tasks[0].templates(instructions)  # validates the split name early
        self.render_mode = render_mode
        self.pixels = pixels
        self.config = scene_config or SceneConfig()
        self.model = build_scene(self.config)
        self.data = mujoco.MjData(self.model)
        self.units = JointUnits(
            low_rad=np.array([self.model.joint(n).range[0] for n in JOINT_NAMES]),
            high_rad=np.array([self.model.joint(n).range[1] for n in JOINT_NAMES]),
        )
        self._index_model()
        self.rig = CameraRig(self.model, self.config.image_height, self.config.image_width)
        self.metadata = {**self.metadata, "render_fps": self.config.control_hz}

        h, w = self.config.image_height, self.config.image_width
        image_space = gym.spaces.Box(0, 255, (h, w, 3), np.uint8)
        spaces = {
            "pixels": gym.spaces.Dict({name: image_space for name in self.rig.cameras}),
            # Measured joints stay within their limits up to contact softness; 30 units of slack.
            "agent_pos": gym.spaces.Box(self.units.low - 30, self.units.high + 30, dtype=np.float32),
        }
        # Metres: objects stay on (or are carried above) a table within 1 m of the base.
        spaces["environment_state"] = gym.spaces.Box(
            -2.0, 2.0, (len(self.environment_state_names),), dtype=np.float32
        )
        if not pixels:
            del spaces["pixels"]
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(self.units.low, self.units.high, dtype=np.float32)

        self.current_task: Task = self.fixed_task or self.tasks[0]
        self.instruction = ""
        self._steps = 0
        self._last_obs: dict | None = None

    # ----- LeRobot's env attributes (lerobot.envs.utils.check_env_attributes_and_types) -----
    @property
    def task(self) -> str:
        """Name of the current task."""
        return self.current_task.name

    @property
    def task_description(self) -> str:
        """The instruction shown this episode."""
        return self.instruction

    @property
    def max_episode_steps(self) -> int:
        return round(self.current_task.time_limit_s * self.config.control_hz)

    @property
    def _max_episode_steps(self) -> int:
        """What `lerobot-eval` reads (gymnasium's TimeLimit name); the env truncates by itself."""
        return self.max_episode_steps

    def _index_model(self) -> None:
        m = self.model
        self._arm_qpos = np.array([m.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._actuators = np.array([m.actuator(n).id for n in JOINT_NAMES])
        self._cube_qpos = {c: m.joint(f"cube_{c}").qposadr[0] for c in self.config.cube_colours}
        self._cube_dof = {c: m.joint(f"cube_{c}").dofadr[0] for c in self.config.cube_colours}
        self._cube_geom = {m.geom(f"cube_{c}").id: c for c in self.config.cube_colours}
        self._bowl_mocap = {c: m.body(f"bowl_{c}").mocapid[0] for c in self.config.bowl_colours}
        fixed_jaw, moving_jaw = (m.body(name).id for name in GRIPPER_BODIES)
        collides = m.geom_contype != 0
        self._fixed_jaw_geoms = set(np.flatnonzero((m.geom_bodyid == fixed_jaw) & collides))
        self._moving_jaw_geoms = set(np.flatnonzero((m.geom_bodyid == moving_jaw) & collides))

    # ----- gymnasium API -----
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "task" in options:
            self.current_task = get_task(options["task"], self.suite)
        elif self.fixed_task is not None:
            self.current_task = self.fixed_task
        else:
            self.current_task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        rng = self.np_random
        layout = self.current_task.sample_layout(rng, self.config.cube_colours)
        self.instruction = self.current_task.instruction(rng, self.instruction_split)

        mujoco.mj_resetData(self.model, self.data)
        home = HOME_POSE.astype(np.float64).copy()
        home[: len(ARM_JOINTS)] += rng.uniform(-HOME_NOISE_DEG, HOME_NOISE_DEG, len(ARM_JOINTS))
        home_rad = self.units.to_radians(home)
        self.data.qpos[self._arm_qpos] = home_rad
        self.data.ctrl[self._actuators] = home_rad
        for i, colour in enumerate(self.config.cube_colours):
            if colour in layout.cubes:
                x, y, yaw = layout.cubes[colour]
                pose = [x, y, CUBE_HALF, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
            else:  # parked under the table top, out of every camera's view
                pose = [0.1 + 0.06 * i, 0.0, PARKED_Z + CUBE_HALF, 1.0, 0.0, 0.0, 0.0]
            adr = self._cube_qpos[colour]
            self.data.qpos[adr : adr + 7] = pose
        for i, colour in enumerate(self.config.bowl_colours):
            xy = layout.bowls.get(colour, (0.1 + 0.15 * i, -0.3))
            z = 0.0 if colour in layout.bowls else PARKED_Z
            self.data.mocap_pos[self._bowl_mocap[colour]] = [xy[0], xy[1], z]
        mujoco.mj_forward(self.model, self.data)
        self._steps = 0
        obs = self._observe()
        return obs, self._info(success=False)

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (len(ACTION_NAMES),):
            raise ValueError(
                f"action must have shape ({len(ACTION_NAMES)},) for {list(ACTION_NAMES)}, got {action.shape}"
            )
        check_finite_action(action)
        target = np.clip(action, self.units.low, self.units.high)
        self.data.ctrl[self._actuators] = self.units.to_radians(target)
        mujoco.mj_step(self.model, self.data, nstep=self.config.physics_substeps)
        self._steps += 1
        # progress reaches the last of the task's stages exactly when it succeeds (sim.tasks.base), so
        # success is read off it rather than tested a second time each step.
        progress = self.current_task.progress(self.scene_state())
        success = progress == len(self.current_task.stage_names()) - 1
        obs = self._observe()
        truncated = self._steps >= self.max_episode_steps and not success
        return obs, float(success), success, truncated, self._info(success, progress)

    def render(self) -> np.ndarray | None:
        """The front camera's latest frame (what LeRobot writes into eval videos)."""
        if self.render_mode is None:
            return None
        if self._last_obs is None:
            raise RuntimeError("call reset() before render()")
        return self._last_obs["pixels"]["front"]

    def close(self) -> None:
        self.rig.close()

    # ----- state -----
    def joint_positions(self) -> np.ndarray:
        """(6,) float32 measured joint positions, so101_follower units."""
        return self.units.to_lerobot(self.data.qpos[self._arm_qpos])

    @property
    def environment_state_names(self) -> list[str]:
        """Names of the `environment_state` entries, e.g. `red_cube.x`, `white_bowl.y`."""
        return environment_state_names(self.config)

    def environment_state(self) -> np.ndarray:
        """(22,) float32: where the objects are now (see the module docstring); parked objects read 0."""
        values = []
        for adr in self._cube_qpos.values():
            xyz = self.data.qpos[adr : adr + 3]
            values += [0.0, 0.0, 0.0] if xyz[2] < PARKED_Z / 2 else list(xyz)
        for mocap in self._bowl_mocap.values():
            xyz = self.data.mocap_pos[mocap]
            values += [0.0, 0.0] if xyz[2] < PARKED_Z / 2 else list(xyz[:2])
        scene = np.asarray(values, np.float32)
        return np.concatenate(
            [scene, task_values(scene, self.task_state_sources(), self.task_state_constants())]
        )

    def task_state_sources(self) -> np.ndarray:
        """(6,) int64: for each `TASK_STATE_NAMES` value, the index of the scene value of
        `environment_state` it copies this episode (-1: it reads 0, as a bowl's z or a pick's destination)."""
        names, slots = self.environment_state_names, self.current_task.slots
        sources = [names.index(f"{slots['cube']}_cube.{axis}") for axis in "xyz"]
        if "bowl" in slots:
            sources += [names.index(f"{slots['bowl']}_bowl.{axis}") for axis in "xy"] + [-1]
        elif "base" in slots:
            sources += [names.index(f"{slots['base']}_cube.{axis}") for axis in "xyz"]
        else:
            sources += [-1, -1, -1]
        return np.asarray(sources, np.int64)

    def task_state_constants(self) -> np.ndarray:
        """(6,) float32: what each `TASK_STATE_NAMES` value reads where its source is -1: the side a push
        goes to as its destination, 0 otherwise."""
        constants = np.zeros(len(TASK_STATE_NAMES), np.float32)
        side = self.current_task.slots.get("side")
        if side is not None:
            constants[3:] = side_destination(side)
        return constants

    def scene_state(self) -> SceneState:
        """Summary of the physics that task predicates read."""
        touching: dict[str, set[str]] = {c: set() for c in self.config.cube_colours}
        contacts = self.data.contact
        for g1, g2 in zip(contacts.geom1[: self.data.ncon], contacts.geom2[: self.data.ncon], strict=True):
            for cube_geom, other in ((g1, g2), (g2, g1)):
                colour = self._cube_geom.get(int(cube_geom))
                if colour is None:
                    continue
                if other in self._fixed_jaw_geoms:
                    touching[colour].add("fixed")
                elif other in self._moving_jaw_geoms:
                    touching[colour].add("moving")
        cube_pos, cube_yaw = {}, {}
        for colour, adr in self._cube_qpos.items():
            cube_pos[colour] = self.data.qpos[adr : adr + 3].copy()
            w, x, y, z = self.data.qpos[adr + 3 : adr + 7]
            cube_yaw[colour] = float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
        bowl_pos = {c: self.data.mocap_pos[i].copy() for c, i in self._bowl_mocap.items()}
        return SceneState(
            cube_pos=cube_pos,
            bowl_pos=bowl_pos,
            cube_touching_gripper={c: bool(t) for c, t in touching.items()},
            cube_grasped={c: t == {"fixed", "moving"} for c, t in touching.items()},
            cube_yaw=cube_yaw,
        )

    def _observe(self) -> dict:
        obs = {"agent_pos": self.joint_positions(), "environment_state": self.environment_state()}
        if self.pixels:
            obs = {"pixels": self.rig.render(self.data), **obs}
        self._last_obs = obs
        return obs

    def _info(self, success: bool, progress: int = 0) -> dict:
        """`task_progress`: the index into the task's `stage_names()` this step reached (sim.tasks.base)."""
        return {
            "is_success": success,
            "task": self.task,
            "task_description": self.instruction,
            "task_progress": progress,
        }
