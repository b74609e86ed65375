"""Seeded evaluation episodes over a suite's split, spread over worker processes.

Episode i of every task uses layout seed `seed + i` (recording uses seeds from 100000, so evaluation
layouts are never training layouts). The first episode of each task is filmed (front | wrist).
eval_info records the split (sim/tasks/suites.py: train, heldout, absent) and success per task
(composition) and per family.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vla.evaluation.stats import wilson_interval


@dataclass(frozen=True)
class EvalConfig:
    policy: str  # "expert", a checkpoint folder (torch) or an export folder (onnxruntime)
    suite: str = "tabletop"
    split: str = "train"  # the suite's split whose tasks run (sim/tasks/suites.py), unless `tasks` names them
    episodes_per_task: int = 10
    workers: int = 2
    out: Path = Path("results/eval")
    instructions: str = "train"  # or "heldout": paraphrases no training episode used
    seed: int = 0
    videos: bool = True
    tasks: tuple[str, ...] = ()  # empty: every task of the suite
    variant: str = "fp32"  # export folders only: fp32 | fp16 | int8
    execute_steps: int | None = None  # actions run from each chunk before the next inference (None: all)
    oracle_objects: str = ""  # diagnostic, checkpoints only: "exact" | "grounding" (vla.evaluation.oracle)

    def __post_init__(self) -> None:
        if self.episodes_per_task < 1 or self.workers < 1:
            raise ValueError("--episodes-per-task and --workers must be at least 1")
        if self.execute_steps is not None and self.execute_steps < 1:
            raise ValueError("--execute-steps must be at least 1")


# Hysteresis for counting the policy's grasps from its gripper command (%, so101_follower units): a close
# is the command falling to SHUT after it was at least OPEN. The expert opens to 60 and closes to 0.
GRASP_OPEN_PC, GRASP_SHUT_PC = 30.0, 10.0


@dataclass(frozen=True)
class EpisodeOutcome:
    task: str
    seed: int
    success: bool
    steps: int
    instruction: str
    video: str | None
    gripper_closes: int = 0  # times the gripper command closed after being open: a retried grasp makes 2+
    stage: str = ""  # the furthest stage reached (the task's `stage_names`): where a failure stopped
    # Mean per-step confidence of the chunks inferred in the first second (ChunkSource), in (0, 1]; None
    # for sources without one (expert, LeRobot baselines). bench/confidence_auroc.py reads it.
    confidence_first_s: float | None = None
    # The highest abstain (probability that the instruction names nothing in view) of the chunks inferred
    # in the first second; at ABSTAIN_THRESHOLD or more the policy refused in time. None as above.
    abstain_first_s: float | None = None
    # Chunks held on abstain after the first second (a refusal that came late, mid-episode). None as above.
    held_after_first_s: int | None = None


def gripper_closes(commands: list[float]) -> int:
    """How many times the gripper command fell to `GRASP_SHUT_PC` or below after being `GRASP_OPEN_PC` or
    above (a command that starts closed and never opens counts none)."""
    closes, was_open = 0, False
    for command in commands:
        if command >= GRASP_OPEN_PC:
            was_open = True
        elif command <= GRASP_SHUT_PC and was_open:
            closes, was_open = closes + 1, False
    return closes


def run_episodes(config: EvalConfig, task: str, seeds: list[int]) -> list[EpisodeOutcome]:
    """One worker's share: episodes of `task` with `seeds`, in a fresh env and policy."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from vla.evaluation.policies import EXPERT, make_source

    # The scripted expert reads the simulator, not the cameras: without videos its episodes render nothing.
    cameras = config.videos or config.policy != EXPERT
    env = TabletopEnv(
        task=task,
        suite=config.suite,
        instructions=config.instructions,
        split=config.split,
        render_mode="rgb_array" if cameras else None,
        pixels=cameras,
    )
    try:
        source = make_source(config.policy, env, config.variant, config.execute_steps, config.oracle_objects)
        outcomes = []
        for seed in seeds:
            observation, info = env.reset(seed=seed)
            source.start(env, observation)
            film = config.videos and seed == config.seed
            frames, gripper = [], []
            steps, success, furthest = 0, False, 0
            while True:
                if film:
                    frames.append(
                        np.concatenate([observation["pixels"]["front"], observation["pixels"]["wrist"]], 1)
                    )
                action = source.act(observation)
                gripper.append(float(action[-1]))
                observation, _, terminated, truncated, step_info = env.step(action)
                steps += 1
                furthest = max(furthest, step_info["task_progress"])
                if terminated or truncated:
                    success = bool(step_info["is_success"])
                    break
            video = None
            if film:
                from sim.video import write_mp4  # PyAV only when filming (`--no-video` runs without it)

                video = str(write_mp4(config.out / "videos" / f"{task}.mp4", frames, env.config.control_hz))
            outcomes.append(
                EpisodeOutcome(
                    task,
                    seed,
                    success,
                    steps,
                    info["task_description"],
                    video,
                    gripper_closes(gripper),
                    env.current_task.stage_names()[furthest],
                    source.first_second_confidence,
                    source.first_second_abstain,
                    source.held_after_first_s,
                )
            )
        return outcomes
    finally:
        env.close()


def run_evaluation(config: EvalConfig, on_episode: Callable[[EpisodeOutcome], None] | None = None) -> dict:
    """Run every (task, seed) and return eval_info (LeRobot's field names: per_task / aggregated)."""
    tasks = eval_tasks(config)
    seeds = list(range(config.seed, config.seed + config.episodes_per_task))
    per_job = 10  # episodes per worker job: small enough to balance workers, large enough to amortise set-up
    jobs = [(config, task, seeds[i : i + per_job]) for task in tasks for i in range(0, len(seeds), per_job)]
    start = time.perf_counter()
    outcomes: list[EpisodeOutcome] = []

    def collect(results: list[EpisodeOutcome]) -> None:
        for outcome in results:
            outcomes.append(outcome)
            if on_episode is not None:
                on_episode(outcome)

    if config.workers == 1:
        for job in jobs:
            collect(run_episodes(*job))
    else:
        with ProcessPoolExecutor(max_workers=config.workers) as pool:
            for future in as_completed([pool.submit(run_episodes, *job) for job in jobs]):
                collect(future.result())
    return eval_info(config, tasks, outcomes, time.perf_counter() - start)


def eval_tasks(config: EvalConfig) -> list[str]:
    """The task names an evaluation runs: `config.tasks` (each parsed, so a bad name fails listing what
    is allowed) or the suite's `config.split`."""
    from sim.tasks import get_suite

    suite = get_suite(config.suite)
    if not config.tasks:
        return [task.name for task in suite.tasks(config.split)]
    for name in config.tasks:
        suite.task(name)
    return list(config.tasks)


def split_label(config: EvalConfig, tasks: list[str]) -> str:
    """The split eval_info records: `config.split`, or for named tasks the one split they all belong to
    ("mixed" when they span several, "composed" for compositions outside every split)."""
    from sim.tasks import get_suite

    if not config.tasks:
        return config.split
    splits = {get_suite(config.suite).split_of(name) for name in tasks}
    return splits.pop() if len(splits) == 1 else "mixed"


def _summary(outcomes: list[EpisodeOutcome]) -> dict:
    """Success with its Wilson interval, and for sources with an abstain, the share of episodes where it
    was raised within the first second (`pc_abstained_first_s`; a false refusal outside the absent split)."""
    from vla.contract import ABSTAIN_THRESHOLD

    wins = sum(o.success for o in outcomes)
    low, high = wilson_interval(wins, len(outcomes))
    summary = {
        "pc_success": 100.0 * wins / len(outcomes),
        "n_episodes": len(outcomes),
        "successes": wins,
        "wilson_95_pc": [100.0 * low, 100.0 * high],
        "avg_episode_length": float(np.mean([o.steps for o in outcomes])),
    }
    abstains = [o.abstain_first_s for o in outcomes if o.abstain_first_s is not None]
    if abstains:
        refused = sum(a >= ABSTAIN_THRESHOLD for a in abstains)
        summary["pc_abstained_first_s"] = 100.0 * refused / len(abstains)
    return summary


def backend_name(config: EvalConfig) -> str:
    from vla.evaluation.policies import EXPERT, is_export_folder

    if config.policy == EXPERT:
        return "scripted expert"
    if config.oracle_objects:
        return f"torch, oracle objects: {config.oracle_objects}"
    if is_export_folder(config.policy):
        return f"onnxruntime {config.variant}"
    from vla.baselines.lerobot_policies import lerobot_policy_kind

    kind = lerobot_policy_kind(config.policy)
    return f"lerobot {kind} (torch)" if kind else "torch"


def eval_info(config: EvalConfig, tasks: list[str], outcomes: list[EpisodeOutcome], seconds: float) -> dict:
    from sim.tasks import get_task

    ordered = sorted(outcomes, key=lambda o: (tasks.index(o.task), o.seed))
    per_task = {task: _summary([o for o in ordered if o.task == task]) for task in tasks}
    family = {task: get_task(task, config.suite).family for task in tasks}
    families = list(dict.fromkeys(family.values()))
    per_family = {f: _summary([o for o in ordered if family[o.task] == f]) for f in families}
    aggregated = _summary(ordered) | {"eval_s": seconds, "eval_ep_s": seconds / len(ordered)}
    from vla.evaluation.reuse import evaluation_request

    return {
        "policy": config.policy,
        "request": evaluation_request(config),  # what `vla eval --reuse` compares (evaluation/reuse.py)
        "backend": backend_name(config),
        "suite": config.suite,
        "split": split_label(config, tasks),
        "instructions": config.instructions,
        "execute_steps": config.execute_steps,
        "oracle_objects": config.oracle_objects or None,
        "seeds": [config.seed, config.seed + config.episodes_per_task - 1],
        "per_task": per_task,
        "per_family": per_family,
        "aggregated": aggregated,
        "per_episode": [asdict(o) for o in ordered],
        "video_paths": [o.video for o in ordered if o.video],
    }


def read_episodes(path: Path, field: str = "success") -> tuple[str, list[dict]]:
    """The suite and the `per_episode` rows of an `eval_info.json` (`eval_info` above), for the scripts in
    bench/ that read them. KeyError naming the file when a row has no `field`, or an empty one: an
    evaluation from before that field was recorded."""
    info = json.loads(path.read_text())
    for row in info["per_episode"]:
        if row.get(field) in (None, ""):
            raise KeyError(f"{path}: no {field} per episode (an eval from before the field)")
    return info["suite"], info["per_episode"]
