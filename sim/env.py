"""`TabletopEnv`: the tabletop task suite as a gymnasium environment.

Observation (LeRobot's gym convention, mapped by `lerobot.envs.utils.preprocess_observation` to
`observation.images.<camera>` and `observation.state`):
    pixels:    {"front": (H, W, 3) uint8, "wrist": (H, W, 3) uint8}
    agent_pos: (6,) float32 joint positions in so101_follower units (degrees; gripper 0..100)
    environment_state: float32 object positions in metres, world frame (`environment_state_names`), as
               described in sim/environment_state.py: for the fixed `tabletop` scene (22,): x, y, z of each
               cube, x, y of each bowl (zeros for an object the task leaves off the table), then x, y, z of
               the objects the instruction names (`task_object`, `task_destination`); for a suite whose
               contents vary, one masked entry (present, kind, colour id, x, y, z) per object body.
               Privileged simulator state, as in gym_pusht's `environment_state` (LeRobot maps it to
               `observation.environment_state`): a training label; a policy input only in the
               perception diagnostics of `vla eval --oracle-objects`.
Action: (6,) absolute joint position targets in the same units and order (`sim.robot.ACTION_NAMES`).
    Targets beyond a joint's limits are clipped to the limit (the real servos clamp the same way);
    a NaN or infinite target raises ValueError naming the joint.
Control: 30 Hz (`SceneConfig.control_hz`), 16 physics substeps per control step.
Reward: 1.0 on the step the task's success predicate holds, which also terminates the episode;
episodes are truncated at the task's time limit. An absent-object task (sim/tasks/absent.py) succeeds on
its last step if nothing was touched, and terminates, failed, at the first touch.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import mujoco  # MUJOCO_GL is already set: importing any `sim` module runs sim/__init__.py first
import numpy as np

from sim.appearance import AppearanceJitter
from sim.environment_state import (
    TASK_STATE_NAMES,
    environment_state_names,
    fixed_destinations,
    object_entries,
    task_values,
)
from sim.objects import ON_TABLE_MIN_Z, SceneObjects
from sim.render import CameraRig
from sim.robot import ACTION_NAMES, ARM_JOINTS, GRIPPER_BODIES, JOINT_NAMES, JointUnits, check_finite_action
from sim.scene import SceneConfig, build_scene
from sim.tasks import SceneState, Task, get_suite
from sim.tasks.absent import TouchMonitor
from sim.tasks.push import side_destination

# Arm pose at reset, so101_follower units: gripper above the workspace, looking down, jaws half open.
HOME_POSE = np.array([0.0, -20.0, 10.0, 90.0, 0.0, 30.0], dtype=np.float32)
HOME_NOISE_DEG = 2.0  # uniform noise on each arm joint at reset so policies see varied starts

__all__ = [
    "HOME_POSE",
    "TASK_STATE_NAMES",
    "TabletopEnv",
    "environment_state_names",
    "fixed_destinations",
    "task_values",
]


class TabletopEnv(gym.Env):
    """Language-conditioned tabletop tasks on the SO-101. See the module docstring for the contract.

    `task`: a task name to run every episode (any composition the suite's scene can hold, parsed by
    sim/tasks/compose.py), or None to draw one per reset (uniformly, seeded) from the suite's `split`;
    `reset(options={"task": name})` overrides both. `instructions`: "train" or "heldout" paraphrases.
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        task: str | None = None,
        suite: str = "tabletop",
        instructions: str = "train",
        split: str = "train",
        render_mode: str | None = "rgb_array",
        scene_config: SceneConfig | None = None,
        pixels: bool = True,
        episode_seconds: float | None = None,
    ):
        """`pixels=False`: observations hold `agent_pos` only and no camera is ever rendered, for runs
        that need physics alone (expert checks, tolerance benches), ~7x faster on a CPU.
        `episode_seconds`: an episode's time limit instead of the task's own (the policy's, 8-14 s), for a
        person teleoperating, who needs longer."""
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if not pixels and render_mode is not None:
            raise ValueError("pixels=False renders nothing: pass render_mode=None with it")
        if episode_seconds is not None and not episode_seconds > 0:
            raise ValueError(f"episode_seconds must be > 0 (s), got {episode_seconds}")
        self.episode_seconds = episode_seconds
        self.suite = suite
        self.suite_spec = get_suite(suite)
        self.split = split
        self.tasks = self.suite_spec.tasks(split)
        self.fixed_task = self.suite_spec.task(task) if task is not None else None
        self.instruction_split = instructions
        self.tasks[0].templates(instructions)  # validates the split name early
        self.render_mode = render_mode
        self.pixels = pixels
        self.config = self.suite_spec.scene_config(scene_config)
        self.model = build_scene(self.config)
        self.objects = SceneObjects(self.model, self.config)
        self.appearance = AppearanceJitter(self.model) if self.config.appearance_jitter else None
        self.touch = TouchMonitor()
        self.data = mujoco.MjData(self.model)
        self.units = JointUnits(
            low_rad=np.array([self.model.joint(n).range[0] for n in JOINT_NAMES]),
            high_rad=np.array([self.model.joint(n).range[1] for n in JOINT_NAMES]),
        )
        self._index_model()
        self.rig = CameraRig(self.model, self.config.image_height, self.config.image_width)
        # An int: video writers (PyAV) take the frame rate as a rational, and a float has no numerator.
        self.metadata = {**self.metadata, "render_fps": round(self.config.control_hz)}

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
        seconds = self.episode_seconds or self.current_task.time_limit_s
        return round(seconds * self.config.control_hz)

    @property
    def _max_episode_steps(self) -> int:
        """What `lerobot-eval` reads (gymnasium's TimeLimit name); the env truncates by itself."""
        return self.max_episode_steps

    def _index_model(self) -> None:
        m = self.model
        self._arm_qpos = np.array([m.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._actuators = np.array([m.actuator(n).id for n in JOINT_NAMES])
        fixed_jaw, moving_jaw = (m.body(name).id for name in GRIPPER_BODIES)
        collides = m.geom_contype != 0
        self._fixed_jaw_geoms = set(np.flatnonzero((m.geom_bodyid == fixed_jaw) & collides))
        self._moving_jaw_geoms = set(np.flatnonzero((m.geom_bodyid == moving_jaw) & collides))

    # ----- gymnasium API -----
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        if "task" in options:
            self.current_task = self.suite_spec.task(options["task"])
        elif self.fixed_task is not None:
            self.current_task = self.fixed_task
        else:
            self.current_task = self.tasks[int(self.np_random.integers(len(self.tasks)))]
        rng = self.np_random
        if self.config.pooled:
            palette = (self.config.cube_colours, self.config.bowl_colours)
            layout = self.current_task.sample_varied_layout(rng, *palette)
        else:
            layout = self.current_task.sample_layout(rng, self.config.cube_colours)
        self.instruction = self.current_task.instruction(rng, self.instruction_split)

        mujoco.mj_resetData(self.model, self.data)
        home = HOME_POSE.astype(np.float64).copy()
        home[: len(ARM_JOINTS)] += rng.uniform(-HOME_NOISE_DEG, HOME_NOISE_DEG, len(ARM_JOINTS))
        home_rad = self.units.to_radians(home)
        self.data.qpos[self._arm_qpos] = home_rad
        self.data.ctrl[self._actuators] = home_rad
        if self.config.pooled:  # drawn after the instruction: the fixed scene's draws stay as they were
            self.objects.assign(layout, rng)
        if self.appearance is not None:
            self.appearance.apply(rng)
        self.objects.place(self.data, layout)
        mujoco.mj_forward(self.model, self.data)
        self._steps = 0
        self.touch.start(self.scene_state())
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
        state = self.touch.observe(self.scene_state())
        progress = self.current_task.progress(state)
        success = progress == len(self.current_task.stage_names()) - 1
        failed = self.current_task.has_failed(state)  # only an absent-object task ends early, on a touch
        obs = self._observe()
        truncated = self._steps >= self.max_episode_steps and not (success or failed)
        return obs, float(success), success or failed, truncated, self._info(success, progress)

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
        """float32 object positions now (sim/environment_state.py); parked objects read 0."""
        if self.config.pooled:
            cubes = [(i, c, self.objects.cube_pose(self.data, i)[0]) for i, c in self.objects.cube_bodies()]
            bowls = [
                (i, c, self.data.mocap_pos[self.objects.bowl_mocap[i]].copy())
                for i, c in self.objects.bowl_bodies()
            ]
            return object_entries(
                cubes, bowls, self.config.cube_slots, self.config.bowl_slots, self.current_task.slots
            )
        values = []
        for i, _ in self.objects.cube_bodies():
            xyz = self.objects.cube_pose(self.data, i)[0]
            values += [0.0, 0.0, 0.0] if xyz[2] < ON_TABLE_MIN_Z else list(xyz)
        for i, _ in self.objects.bowl_bodies():
            xyz = self.data.mocap_pos[self.objects.bowl_mocap[i]]
            values += [0.0, 0.0] if xyz[2] < ON_TABLE_MIN_Z else list(xyz[:2])
        scene = np.asarray(values, np.float32)
        return np.concatenate(
            [scene, task_values(scene, self.task_state_sources(), self.task_state_constants())]
        )

    def task_state_sources(self) -> np.ndarray:
        """(6,) int64: for each `TASK_STATE_NAMES` value, the index of the scene value of
        `environment_state` it copies this episode (-1: it reads 0, as a bowl's z or a pick's destination).
        The fixed scene's representation only (a pooled scene names its task's entries itself)."""
        if self.config.pooled:
            raise ValueError(
                f"suite {self.suite}: task_state_sources belongs to the fixed tabletop scene's environment "
                "state; this scene's names its task's objects by entry (sim/environment_state.py)"
            )
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
        cube_colours = self.objects.geom_colours()
        touching: dict[str, set[str]] = {c: set() for c in cube_colours.values()}
        contacts = self.data.contact
        for g1, g2 in zip(contacts.geom1[: self.data.ncon], contacts.geom2[: self.data.ncon], strict=True):
            for cube_geom, other in ((g1, g2), (g2, g1)):
                colour = cube_colours.get(int(cube_geom))
                if colour is None:
                    continue
                if other in self._fixed_jaw_geoms:
                    touching[colour].add("fixed")
                elif other in self._moving_jaw_geoms:
                    touching[colour].add("moving")
        cube_pos, cube_yaw = {}, {}
        for i, colour in self.objects.cube_bodies():
            cube_pos[colour], cube_yaw[colour] = self.objects.cube_pose(self.data, i)
        bowl_pos = {
            c: self.data.mocap_pos[self.objects.bowl_mocap[i]].copy() for i, c in self.objects.bowl_bodies()
        }
        return SceneState(
            cube_pos=cube_pos,
            bowl_pos=bowl_pos,
            cube_touching_gripper={c: bool(t) for c, t in touching.items()},
            cube_grasped={c: t == {"fixed", "moving"} for c, t in touching.items()},
            cube_yaw=cube_yaw,
            elapsed_s=self._steps / self.config.control_hz,
            max_displacement_m=self.touch.max_displacement_m,
            closed_on_object=self.touch.closed_on_object,
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
