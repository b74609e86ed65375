"""Running the scripted expert (or any action source) through `TabletopEnv` episodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.env import TabletopEnv
from sim.expert import ScriptedExpert
from sim.expert_noise import ExpertNoise
from sim.expert_retry import GraspMiss, aim_beside
from sim.ik import ArmIK
from sim.robot import ARM_JOINTS


@dataclass
class Episode:
    """One finished episode. `frames` holds observations only when recording was asked for."""

    task: str
    instruction: str
    seed: int
    success: bool
    steps: int
    actions: list[np.ndarray] = field(default_factory=list)
    observations: list[dict] = field(default_factory=list)
    grasp_offset_m: float | None = None  # the first grasp was aimed this far beside the cube (GraspMiss)
    retry_step: int | None = None  # the step the expert re-planned at, after that grasp closed on nothing


class ExpertRunner:
    """Drives `env` with its task's scripted expert.

    `noise`: perturb the executed arm targets in bursts (sim/expert_noise.py); `run_episode` still records
    and reports the expert's own action, the label a policy should learn. `miss`: aim a share of the first
    grasps beside the cube, and re-plan from where the arm is once such a grasp has closed on nothing
    (sim/expert_retry.py).
    """

    def __init__(self, env: TabletopEnv, noise: ExpertNoise | None = None, miss: GraspMiss | None = None):
        self.env = env
        self.expert = ScriptedExpert(ArmIK(env.model))
        self.noise = noise if noise is not None and noise.degrees > 0 else None
        self.miss = miss if miss is not None and miss.share > 0 else None

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

    def _aim_beside(self, seed: int, episode: Episode) -> int | None:
        """With `miss`, maybe aim this episode's first grasp beside its cube; the step at which to check
        whether it closed on nothing, or None."""
        closed_s = self.expert.grasp_closed_s()
        offset = self.miss.draw(seed) if self.miss is not None and closed_s is not None else None
        if offset is None:
            return None
        self.expert.plan = aim_beside(self.expert.plan, offset)
        episode.grasp_offset_m = offset
        return round(closed_s * self.env.config.control_hz)

    def _retry_if_missed(self, observation: dict, episode: Episode) -> None:
        """The aimed-beside grasp has closed: unless it caught the cube after all, re-plan from here."""
        state = self.env.scene_state()
        if state.cube_grasped.get(self.env.current_task.slots["cube"], False):
            return
        joints = observation["agent_pos"]
        q_arm = np.deg2rad(joints[: len(ARM_JOINTS)].astype(np.float64))
        self.expert.retry(self.env.current_task, state, q_arm, float(joints[-1]))
        episode.retry_step = episode.steps

    def run_episode(
        self,
        seed: int,
        task: str | None = None,
        keep_data: bool = False,
        on_step: Callable[[dict, np.ndarray], None] | None = None,
        driver=None,
        horizon: Callable[[ScriptedExpert], int] | None = None,
    ) -> Episode:
        """Reset with `seed` (and `task`, if given), run until success, the time limit or `horizon(expert)`
        steps (a function of the plan made at reset).

        `keep_data` stores every observation (the one the action was computed from) and action. With
        `noise`, the env executes the action plus the episode's offsets; `actions` and `on_step` get the
        expert's action without them. With `driver` (an action source of vla.evaluation.policies:
        `start(env, observation)`, `act(observation)`), the env executes the driver's action instead and
        the expert's is still the one recorded: DAgger's labels on the driver's own states (Ross et al.
        2011). The expert's plan is timed from reset, so its label is where the plan is at that step.
        """
        options = {"task": task} if task is not None else None
        observation, info = self.env.reset(seed=seed, options=options)
        self.start(observation)
        if driver is not None:
            driver.start(self.env, observation)
        max_steps = horizon(self.expert) if horizon is not None else None
        episode = Episode(
            task=info["task"], instruction=info["task_description"], seed=seed, success=False, steps=0
        )
        arm = len(ARM_JOINTS)
        check_step = self._aim_beside(seed, episode) if driver is None else None
        # A driver's episodes take no bursts: the driver already takes the arm off the plan.
        bursts = (
            self.noise.process(seed, arm, self.env.config.control_hz)
            if self.noise and driver is None
            else None
        )
        while True:
            action = self.act()
            if keep_data:
                episode.observations.append(observation)
                episode.actions.append(action)
            if on_step is not None:
                on_step(observation, action)
            executed = action if driver is None else driver.act(observation)
            if bursts is not None:
                executed = action.copy()
                executed[:arm] += bursts.next().astype(np.float32)
            observation, _, terminated, truncated, info = self.env.step(executed)
            episode.steps += 1
            if episode.steps == check_step:
                self._retry_if_missed(observation, episode)
            if terminated or truncated or episode.steps == max_steps:
                episode.success = bool(info["is_success"])
                return episode
