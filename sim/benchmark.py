"""Simulation speed: rendered control steps/s (both cameras) and physics-only control steps/s."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from sim.env import HOME_POSE, TabletopEnv
from sim.scene import SceneConfig


@dataclass(frozen=True)
class SimSpeed:
    label: str
    rendered_steps_per_s: float
    physics_steps_per_s: float
    visual_triangles: int


def _sweep_actions(steps: int) -> np.ndarray:
    """(steps, 6) joint targets sweeping the arm around home so contacts and views change."""
    t = np.arange(steps)[:, None] / 30.0
    amplitude = np.array([25.0, 15.0, 15.0, 10.0, 30.0, 30.0])
    return (HOME_POSE + amplitude * np.sin(2 * np.pi * 0.3 * t + np.arange(6))).astype(np.float32)


def visual_triangles(model: mujoco.MjModel) -> int:
    """Triangles drawn per camera for the arm's meshes (geom groups 0-2 are rendered by default)."""
    visible = (model.geom_type == mujoco.mjtGeom.mjGEOM_MESH) & (model.geom_group <= 2)
    return int(sum(model.mesh_facenum[model.geom_dataid[visible]]))


# Per suite, the task and seed timed: for `tabletop_compose` a scene with five cubes and a bowl on the table,
# its busiest (2 bowls allow at most 3 cubes, sim/tasks/contents.py).
SPEED_EPISODE: dict[str, tuple[str, int]] = {
    "tabletop": ("pick_red_cube", 0),
    "tabletop_compose": ("pick_red_cube", 7),
}


def measure(config: SceneConfig, steps: int, label: str, suite: str = "tabletop") -> SimSpeed:
    """Time `steps` env.step calls (physics + both cameras), then the same steps with physics only, in the
    scene of `suite` (`SPEED_EPISODE`)."""
    task, seed = SPEED_EPISODE[suite]
    env = TabletopEnv(task=task, suite=suite, scene_config=config)
    try:
        env.reset(seed=seed)
        actions = _sweep_actions(steps)
        env.step(actions[0])  # first render pays one-off GL setup
        start = time.perf_counter()
        for action in actions:
            env.step(action)
        rendered = steps / (time.perf_counter() - start)

        env.reset(seed=seed)
        start = time.perf_counter()
        for action in actions:
            env.data.ctrl[:6] = env.units.to_radians(action)
            mujoco.mj_step(env.model, env.data, nstep=config.physics_substeps)
        physics = steps / (time.perf_counter() - start)
        return SimSpeed(label, rendered, physics, visual_triangles(env.model))
    finally:
        env.close()


def save_camera_frames(out_dir: Path, config: SceneConfig | None = None) -> list[Path]:
    """Write one frame per camera (PNG, at the observation size) mid-way through a place episode."""
    import imageio.v3 as iio

    from sim.rollout import ExpertRunner

    env = TabletopEnv(task="place_red_cube_in_white_bowl", scene_config=config)
    try:
        runner = ExpertRunner(env)
        observation, _ = env.reset(seed=1)
        runner.start(observation)
        for _ in range(45):  # the gripper is just above the cube by then
            observation, *_ = env.step(runner.act())
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for camera, image in observation["pixels"].items():
            path = out_dir / f"camera_{camera}.png"
            iio.imwrite(path, image)
            paths.append(path)
        return paths
    finally:
        env.close()
