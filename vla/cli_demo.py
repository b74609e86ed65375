"""`vla demo`: the main job end to end on the shipped default policy.

Until a trained policy ships (the evaluation issue), the default policy is the scripted expert: the
demo runs it on every task of the suite, prints the success table and writes a video per task.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from vla.tables import markdown_table


def add_parser(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the default policy on every task, print a table, write videos",
        description="Run the default policy on every task of the suite, print the table, write videos.",
    )
    demo.add_argument("--suite", default="tabletop")
    demo.add_argument("--episodes-per-task", type=int, default=2)
    demo.add_argument("--out", type=Path, default=Path("results/demo"))
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.env import TabletopEnv
    from sim.rollout import ExpertRunner
    from sim.tasks import suite_tasks
    from sim.video import write_mp4

    tasks = suite_tasks(args.suite)
    env = TabletopEnv(suite=args.suite)
    rows, successes = [], 0
    try:
        runner = ExpertRunner(env)
        with tqdm(total=len(tasks) * args.episodes_per_task, desc="demo episodes", unit="ep") as bar:
            for task in tasks:
                wins = 0
                for seed in range(args.episodes_per_task):
                    frames: list[np.ndarray] = []
                    record = seed == 0

                    def keep(observation, action, frames=frames, record=record):
                        if record:
                            frames.append(
                                np.concatenate(
                                    [observation["pixels"]["front"], observation["pixels"]["wrist"]], axis=1
                                )
                            )

                    episode = runner.run_episode(seed, task=task.name, on_step=keep)
                    wins += episode.success
                    if record:
                        write_mp4(args.out / f"{task.name}.mp4", frames, env.config.control_hz)
                    bar.update(1)
                rows.append([task.name, f"{wins}/{args.episodes_per_task}"])
                successes += wins
    finally:
        env.close()
    total = len(tasks) * args.episodes_per_task
    rows.append(["**all**", f"{successes}/{total} ({successes / total:.0%})"])
    print("policy: scripted expert (the default until a trained policy ships)")
    print(markdown_table(["task", "success"], rows))
    print(f"videos (front | wrist): {args.out}/<task>.mp4")
    return 0
