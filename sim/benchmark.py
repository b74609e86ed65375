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


SPEED_TASK = "pick_red_cube"  # every suite has it; the scene's contents, not the task, set the render cost
SPEED_SEEDS = range(6)  # episodes timed per suite: a compose scene holds 2-5 cubes and 0-2 bowls by seed


def measure(config: SceneConfig, steps: int, label: str, suite: str = "tabletop") -> SimSpeed:
    """Time `steps` env.step calls (physics + both cameras), then the same steps with physics only, spread
    over the episodes `SPEED_SEEDS` of `suite`'s scene (a reset between them, not timed)."""
    env = TabletopEnv(task=SPEED_TASK, suite=suite, scene_config=config)
    try:
        per_episode = np.array_split(_sweep_actions(steps), len(SPEED_SEEDS))
        env.reset(seed=SPEED_SEEDS[0])
        env.step(per_episode[0][0])  # first render pays one-off GL setup
        rendered_s = physics_s = 0.0
        for seed, actions in zip(SPEED_SEEDS, per_episode, strict=True):
            env.reset(seed=seed)
            start = time.perf_counter()
            for action in actions:
                env.step(action)
            rendered_s += time.perf_counter() - start

            env.reset(seed=seed)
            start = time.perf_counter()
            for action in actions:
                env.data.ctrl[:6] = env.units.to_radians(action)
                mujoco.mj_step(env.model, env.data, nstep=config.physics_substeps)
            physics_s += time.perf_counter() - start
        return SimSpeed(label, steps / rendered_s, steps / physics_s, visual_triangles(env.model))
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
