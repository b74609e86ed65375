"""Expert demonstrations rendered straight into a frame cache, in parallel worker processes.

`vla record --source expert --arrays`: the same seeded expert episodes as a LeRobot recording, kept as
the uint8 frames and float32 state/action arrays that training holds in memory anyway (see
vla/training/frames.py). With no video to encode or decode, a 16-core GPU machine renders ~100k frames a
minute, which is what makes training the shipped policy there fit in minutes.

Seeds: the episodes of each task are cut into jobs of `EPISODES_PER_JOB`; job k of task i tries layout
seeds upward from `first_seed + (i * jobs_per_task + k) * SEEDS_PER_JOB`, keeping successes only, so the
result does not depend on the number of workers.

Every job is training data: `ExpertJob` refuses a held-out composition or paraphrase of its suite
(sim/tasks/suites.py `check_training_task`), so neither a frame cache nor a training stream can hold one.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from vla.training.frames import DatasetArrays, arrays_from_episodes

EPISODES_PER_JOB = 10
SEEDS_PER_JOB = 1_000


@dataclass(frozen=True)
class ExpertJob:
    suite: str
    task: str
    first_seed: int
    episodes: int
    instructions: str = "train"
    noise_deg: float = 0.0  # burst perturbations of the executed arm targets (sim/expert_noise.py)
    # An absent-object task's demonstration cut to its first frames (None: the whole time limit): the
    # expert holds still throughout, and training keeps only the first ones (vla/training/stream.py).
    absent_demo_frames: int | None = None

    def __post_init__(self) -> None:
        import sim  # noqa: F401  (headless GL before mujoco loads)
        from sim.tasks import get_suite

        get_suite(self.suite).check_training_task(self.task, self.instructions)


def expert_jobs(
    suite: str,
    tasks: list[str],
    episodes_per_task: int,
    first_seed: int,
    instructions: str = "train",
    noise_deg: float = 0.0,
) -> list[ExpertJob]:
    jobs_per_task = -(-episodes_per_task // EPISODES_PER_JOB)
    jobs = []
    for i, task in enumerate(tasks):
        for k in range(jobs_per_task):
            count = min(EPISODES_PER_JOB, episodes_per_task - k * EPISODES_PER_JOB)
            seed = first_seed + (i * jobs_per_task + k) * SEEDS_PER_JOB
            jobs.append(ExpertJob(suite, task, seed, count, instructions, noise_deg))
    return jobs


_ENVS: dict = {}  # per worker process: (suite, instructions) -> TabletopEnv, reused across jobs


def run_expert_job(job: ExpertJob) -> list[dict]:
    """Expert episodes of one job: {"images": {key: (T, H, W, 3)}, "state", "action",
    "environment_state", "task"}. Successful ones only."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from sim.expert_noise import ExpertNoise
    from sim.rollout import ExpertRunner
    from sim.tasks.absent import ABSENT_PREFIX

    key = (job.suite, job.instructions)
    if key not in _ENVS:
        _ENVS[key] = TabletopEnv(suite=job.suite, instructions=job.instructions)
    runner = ExpertRunner(_ENVS[key], ExpertNoise(job.noise_deg))
    max_steps = job.absent_demo_frames if job.task.startswith(ABSENT_PREFIX) else None
    episodes, seed = [], job.first_seed
    while len(episodes) < job.episodes:
        if seed >= job.first_seed + SEEDS_PER_JOB:
            raise RuntimeError(f"{job.task}: the expert failed too often from seed {job.first_seed}")
        episode = runner.run_episode(seed, task=job.task, keep_data=True, max_steps=max_steps)
        seed += 1
        # a cut absent-object episode touched nothing so far: it ends early only on a touch
        if episode.success or episode.cut:
            episodes.append(_episode_arrays(episode))
    return episodes


def _episode_arrays(episode) -> dict:
    """An `Episode` kept with data as the arrays training takes."""
    from vla.data.features import camera_key

    observations, actions = episode.observations, episode.actions
    cameras = observations[0]["pixels"]
    return {
        "images": {camera_key(c): np.stack([o["pixels"][c] for o in observations]) for c in cameras},
        "state": np.stack([o["agent_pos"] for o in observations]).astype(np.float32),
        "environment_state": np.stack([o["environment_state"] for o in observations]),
        "action": np.stack(actions).astype(np.float32),
        "task": episode.instruction,
    }


def record_expert_arrays(
    jobs: list[ExpertJob], workers: int, progress: Callable[[int], None] | None = None
) -> DatasetArrays:
    """Run `jobs` over `workers` processes (1: in this process); episodes in job order."""
    if workers <= 1:
        results = []
        for job in jobs:
            results.append(run_expert_job(job))
            if progress is not None:
                progress(len(results[-1]))
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = []
            for episodes in pool.map(run_expert_job, jobs):
                results.append(episodes)
                if progress is not None:
                    progress(len(episodes))
    episodes = [episode for episodes in results for episode in episodes]
    suite = jobs[0].suite if jobs else "tabletop"
    return arrays_from_episodes(episodes, expert_environment_state_names(suite))


def expert_environment_state_names(suite: str = "tabletop") -> list[str]:
    """The names of the environment state that expert episodes of `suite` record (its scene's), for frame
    caches and streamed training alike."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import environment_state_names
    from sim.tasks import get_suite

    return environment_state_names(get_suite(suite).scene_config())


def expert_fixed_destinations() -> tuple[tuple[float, float, float], ...]:
    """The destinations that are places, not objects, the expert's environment state records as the task
    destination (the sides pushes go to; x, y, z in m), in a fixed order: the task choice's extra
    candidates (vla/models/task_choice.py)."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import fixed_destinations

    return tuple(fixed_destinations().values())
