"""Running the scripted expert (or any action source) through `TabletopEnv` episodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.env import TabletopEnv
from sim.expert import ScriptedExpert
from sim.expert_noise import ExpertNoise
from sim.ik import ArmIK
from sim.robot import ARM_JOINTS


@dataclass
class Episode:
    """One finished episode. `frames` holds observations only when recording was asked for. `cut`: stopped
    at `run_episode`'s `max_steps` before the episode ended (then `success` is False)."""

    task: str
    instruction: str
    seed: int
    success: bool
    steps: int
    actions: list[np.ndarray] = field(default_factory=list)
    observations: list[dict] = field(default_factory=list)
    cut: bool = False


class ExpertRunner:
    """Drives `env` with its task's scripted expert.

    `noise`: perturb the executed arm targets in bursts (sim/expert_noise.py); `run_episode` still records
    and reports the expert's own action, the label a policy should learn.
    """

    def __init__(self, env: TabletopEnv, noise: ExpertNoise | None = None):
        self.env = env
        self.expert = ScriptedExpert(ArmIK(env.model))
        self.noise = noise if noise is not None and noise.degrees > 0 else None

    def start(self, observation: dict) -> None:
        """Plan for the episode `env.reset` just began; `observation` is what reset returned."""
        joints = observation["agent_pos"]
        q_arm = np.deg2rad(joints[: len(ARM_JOINTS)].astype(np.float64))
        self.expert.reset(
            self.env.current_task,
            self.env.scene_state(),
            q_arm,
            float(joints[-1]),
            self.env.config.control_hz,
        )

    def act(self) -> np.ndarray:
        return self.expert.act()

    def run_episode(
        self,
        seed: int,
        task: str | None = None,
        keep_data: bool = False,
        on_step: Callable[[dict, np.ndarray], None] | None = None,
        max_steps: int | None = None,
    ) -> Episode:
        """Reset with `seed` (and `task`, if given), run until success or the time limit, or until
        `max_steps` steps if that comes first (the episode is then `cut`).

        `keep_data` stores every observation (the one the action was computed from) and action. With
        `noise`, the env executes the action plus the episode's offsets; `actions` and `on_step` get the
        expert's action without them.
        """
        options = {"task": task} if task is not None else None
        observation, info = self.env.reset(seed=seed, options=options)
        self.start(observation)
        episode = Episode(
            task=info["task"], instruction=info["task_description"], seed=seed, success=False, steps=0
        )
        arm = len(ARM_JOINTS)
        bursts = self.noise.process(seed, arm, self.env.config.control_hz) if self.noise else None
        while True:
            action = self.act()
            if keep_data:
                episode.observations.append(observation)
                episode.actions.append(action)
            if on_step is not None:
                on_step(observation, action)
            executed = action
            if bursts is not None:
                executed = action.copy()
                executed[:arm] += bursts.next().astype(np.float32)
            observation, _, terminated, truncated, info = self.env.step(executed)
            episode.steps += 1
            if terminated or truncated:
                episode.success = bool(info["is_success"])
                return episode
            if max_steps is not None and episode.steps >= max_steps:
                episode.cut = True
                return episode
