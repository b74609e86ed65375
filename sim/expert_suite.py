"""Success rates of the scripted experts over a suite, episodes spread over worker processes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from sim.tasks import suite_tasks


@dataclass(frozen=True)
class EpisodeResult:
    task: str
    seed: int
    success: bool
    steps: int


def _run_chunk(suite: str, task: str, seeds: list[int]) -> list[EpisodeResult]:
    from sim.env import TabletopEnv
    from sim.rollout import ExpertRunner

    env = TabletopEnv(task=task, suite=suite)
    try:
        runner = ExpertRunner(env)
        results = []
        for seed in seeds:
            episode = runner.run_episode(seed)
            results.append(EpisodeResult(task, seed, episode.success, episode.steps))
        return results
    finally:
        env.close()


def run_expert_suite(
    suite: str,
    episodes_per_task: int,
    workers: int = 1,
    seed: int = 0,
    on_result: Callable[[EpisodeResult], None] | None = None,
) -> dict:
    """Run the expert for `episodes_per_task` seeded episodes of every task.

    Episode i of a task uses seed `seed + i`. Returns
    {"tasks": {name: {"success_rate", "episodes", "mean_steps"}}, "mean_success": float}.
    """
    tasks = [task.name for task in suite_tasks(suite)]
    chunk = max(1, min(10, episodes_per_task))
    jobs = [
        (suite, task, list(range(seed + start, seed + min(start + chunk, episodes_per_task))))
        for task in tasks
        for start in range(0, episodes_per_task, chunk)
    ]
    results: list[EpisodeResult] = []

    def collect(chunk_results: list[EpisodeResult]) -> None:
        for result in chunk_results:
            results.append(result)
            if on_result is not None:
                on_result(result)

    if workers <= 1:
        for job in jobs:
            collect(_run_chunk(*job))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for future in as_completed([pool.submit(_run_chunk, *job) for job in jobs]):
                collect(future.result())
    return summarise(tasks, results)


def summarise(tasks: list[str], results: list[EpisodeResult]) -> dict:
    per_task = {}
    for task in tasks:
        mine = sorted((r for r in results if r.task == task), key=lambda r: r.seed)
        per_task[task] = {
            "success_rate": sum(r.success for r in mine) / len(mine),
            "episodes": len(mine),
            "mean_steps": sum(r.steps for r in mine) / len(mine),
            "failed_seeds": [r.seed for r in mine if not r.success],
        }
    mean = sum(t["success_rate"] for t in per_task.values()) / len(per_task)
    return {"tasks": per_task, "mean_success": mean}
