"""Action sources the evaluation runner drives: the scripted expert or a trained checkpoint.

Both implement `start(env, observation)` at reset and `act(observation) -> (6,) action`. A trained
policy predicts a chunk of T actions and executes `execute_steps` of them before asking again
(receding-horizon chunking, as ACT and openpi do).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

EXPERT = "expert"


class ExpertSource:
    """The task's scripted expert (privileged state): the reference learned policies are judged against."""

    def __init__(self, env):
        from sim.rollout import ExpertRunner

        self.runner = ExpertRunner(env)

    def start(self, env, observation: dict) -> None:
        self.runner.start(observation)

    def act(self, observation: dict) -> np.ndarray:
        return self.runner.act()


class CheckpointSource:
    """A trained VLA checkpoint behind the `infer(obs)` contract; chunks are executed open loop."""

    def __init__(self, folder: Path, execute_steps: int | None = None):
        from vla.policy import VLAPolicy

        self.policy = VLAPolicy.from_checkpoint(folder)
        self.execute_steps = execute_steps or self.policy.config.chunk_length
        self.queue: deque[np.ndarray] = deque()
        self.instruction = ""

    def start(self, env, observation: dict) -> None:
        self.policy.reset()
        self.queue.clear()
        self.instruction = env.task_description

    def act(self, observation: dict) -> np.ndarray:
        if not self.queue:
            chunk = self.policy.infer(
                {
                    "observation.images.front": observation["pixels"]["front"],
                    "observation.images.wrist": observation["pixels"]["wrist"],
                    "observation.state": observation["agent_pos"],
                    "task": self.instruction,
                }
            )
            self.queue.extend(chunk["actions"][: self.execute_steps])
        return self.queue.popleft()


def make_source(spec: str, env):
    """`expert` or a checkpoint folder."""
    if spec == EXPERT:
        return ExpertSource(env)
    folder = Path(spec)
    if not folder.is_dir():
        raise FileNotFoundError(f"--policy {spec}: not 'expert' and not a checkpoint folder")
    return CheckpointSource(folder)
