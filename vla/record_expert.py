"""Scripted demonstrations recorded as a LeRobot dataset (`vla record --source expert`)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sim.env import TabletopEnv
from sim.expert_noise import ExpertNoise
from sim.rollout import ExpertRunner
from vla.data.recorder import DatasetRecorder


@dataclass
class RecordingSummary:
    episodes: int = 0
    frames: int = 0
    failed_attempts: int = 0
    seconds: float = 0.0
    per_task: Counter = field(default_factory=Counter)
    save_seconds: list[float] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def record_expert_demonstrations(
    env: TabletopEnv,
    recorder: DatasetRecorder,
    tasks: list[str],
    episodes_per_task: int,
    first_seed: int,
    on_episode=None,
    noise_deg: float = 0.0,
) -> RecordingSummary:
    """Record `episodes_per_task` successful expert episodes of each task; failures are discarded.

    Seeds run upward from `first_seed` across all tasks, so every episode has its own layout. Frames
    stream into the recorder (and its video encoder) while the episode runs; the instruction shown is
    the episode's task string. `on_episode(summary)` is called after each saved episode. `noise_deg`:
    the executed arm targets are perturbed in bursts (sim/expert_noise.py), the recorded actions are not.
    A recording is training data: a task or instruction split `env`'s suite holds out fails before any
    episode runs (sim/tasks/suites.py `check_training_task`).
    """
    for task in tasks:
        env.suite_spec.check_training_task(task, env.instruction_split)
    runner = ExpertRunner(env, ExpertNoise(noise_deg))
    summary = RecordingSummary()
    start = time.perf_counter()
    seed = first_seed
    for task in tasks:
        saved = 0
        while saved < episodes_per_task:
            instruction: list[str] = []

            def add(observation, action, instruction=instruction):
                if not instruction:
                    instruction.append(env.task_description)
                recorder.add_frame(
                    observation["pixels"],
                    observation["agent_pos"],
                    action,
                    instruction[0],
                    observation["environment_state"],
                )

            episode = runner.run_episode(seed, task=task, on_step=add)
            seed += 1
            if not episode.success:
                recorder.discard_episode()
                summary.failed_attempts += 1
                continue
            summary.save_seconds.append(recorder.save_episode())
            saved += 1
            summary.episodes += 1
            summary.frames += episode.steps
            summary.per_task[task] += 1
            summary.seconds = time.perf_counter() - start
            if on_episode is not None:
                on_episode(summary)
    summary.seconds = time.perf_counter() - start
    return summary
