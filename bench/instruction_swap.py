"""Does the policy do what it is told? One layout, two instructions, closed loop.

For a pair of sibling tasks (A, B), every seed's layout of task A is run twice: once with the
instruction `vla eval` shows for A on that seed, once with an instruction of B (it replaces the env's
own after reset). Both tasks' success predicates are checked at every step. An episode ends when the
task it was told holds (as in `vla eval`) or at A's time limit; the other task counts if its predicate
held at any step. A policy that ignores the instruction runs the same trajectory both times (it is
deterministic, and so is the simulator), so its "did A" and "did B" columns cannot change with the
instruction; a policy that reads it does A when told A and B when told B.

Seeds whose layout of A parks a cube B names (a place layout has one distractor cube) are skipped and
counted. Picks and stacks always hold every cube; places often do.

    .venv/bin/python bench/instruction_swap.py --policy policies/tabletop_nano --episodes 50 --workers 2 \
        [--pair pick_red_cube:pick_green_cube ...] [--instructions heldout]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_PAIRS = (
    "pick_red_cube:pick_green_cube",
    "pick_green_cube:pick_red_cube",
    "place_red_cube_in_white_bowl:place_blue_cube_in_purple_bowl",
    "place_blue_cube_in_purple_bowl:place_red_cube_in_white_bowl",
)


@dataclass(frozen=True)
class Outcome:
    layout_task: str
    told_task: str
    seed: int
    did_layout_task: bool
    did_other_task: bool


def named_cubes(task) -> list[str]:
    return [task.slots[slot] for slot in ("cube", "base") if slot in task.slots]


def run_seed_block(policy: str, layout_task: str, other_task: str, seeds: list[int], split: str):
    """Every seed in `seeds`: the layout of `layout_task`, told `layout_task`, then told `other_task`.
    Returns (outcomes, seeds skipped because the layout parked a cube `other_task` names)."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from sim.tasks import get_task
    from vla.evaluation.policies import make_source

    env = TabletopEnv(task=layout_task, instructions=split)
    tasks = {name: get_task(name) for name in (layout_task, other_task)}
    outcomes, skipped = [], 0
    try:
        source = make_source(policy, env)
        for seed in seeds:
            observation, _ = env.reset(seed=seed)
            if not all(env.scene_state().on_table(cube) for cube in named_cubes(tasks[other_task])):
                skipped += 1
                continue
            for told in (layout_task, other_task):
                if told != layout_task:  # the same layout again, told a template of the other task
                    observation, _ = env.reset(seed=seed)
                    env.instruction = tasks[told].instruction(np.random.default_rng(seed), split)
                source.start(env, observation)
                did = dict.fromkeys(tasks, False)
                for _ in range(env.max_episode_steps):
                    observation, *_ = env.step(source.act(observation))
                    state = env.scene_state()
                    did = {name: did[name] or task.is_success(state) for name, task in tasks.items()}
                    if did[told]:
                        break
                outcomes.append(Outcome(layout_task, told, seed, did[layout_task], did[other_task]))
        return outcomes, skipped
    finally:
        env.close()


def percent(values: list[bool]) -> str:
    return f"{100 * np.mean(values):.0f}% ({sum(values)}/{len(values)})" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", required=True, help="checkpoint or export folder, as vla eval takes")
    parser.add_argument("--pair", action="append", help="LAYOUT_TASK:OTHER_TASK (repeatable)")
    parser.add_argument("--episodes", type=int, default=50, help="seeds (0, 1, ...) per pair")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--instructions", choices=("train", "heldout"), default="train")
    args = parser.parse_args()
    pairs = [tuple(pair.split(":")) for pair in (args.pair or DEFAULT_PAIRS)]
    block = 10  # seeds per worker job
    jobs = [
        (args.policy, a, b, list(range(start, min(start + block, args.episodes))), args.instructions)
        for a, b in pairs
        for start in range(0, args.episodes, block)
    ]
    outcomes, skipped = [], dict.fromkeys(pairs, 0)
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(run_seed_block, *job) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            block_outcomes, block_skipped = future.result()
            outcomes += block_outcomes
            skipped[job[1], job[2]] += block_skipped
    print(f"policy {args.policy}, {args.instructions} instructions, seeds 0..{args.episodes - 1}")
    print("| layout of (A) | told | did A | did B (the other task) | seeds skipped |")
    print("|---|---|---|---|---|")
    for a, b in pairs:
        for told in (a, b):
            rows = [o for o in outcomes if (o.layout_task, o.told_task) == (a, told)]
            did_a = percent([o.did_layout_task for o in rows])
            did_b = percent([o.did_other_task for o in rows])
            print(f"| {a} | {'A' if told == a else 'B'}: {told} | {did_a} | {did_b} | {skipped[a, b]} |")


if __name__ == "__main__":
    main()
