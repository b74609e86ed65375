"""Where a policy's failures stop, per task: the furthest stage each failed episode reached.

    python bench/failure_stages.py results/a/eval_info.json [results/b/eval_info.json ...]

From `vla eval`'s `per_episode` list: `stage` is the furthest of the task's stages the episode reached
(`stage_names` in sim/tasks: for places and stacks "start", "grasped", "lifted", "over the bowl" or "over
the base", "success"). A stack that fails at "over the base" carried its cube there and lost it on the
way down or at release; one that fails at "start" never held it.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from sim.tasks import get_task
from vla.evaluation.runner import read_episodes


def failure_stages(eval_info: Path) -> tuple[str, dict[str, Counter]]:
    """The file's suite, and task -> Counter of the furthest stage over its failed episodes (and "episodes":
    all)."""
    suite, episodes = read_episodes(eval_info, "stage")
    table: dict[str, Counter] = {}
    for episode in episodes:
        counts = table.setdefault(episode["task"], Counter())
        counts["episodes"] += 1
        if not episode["success"]:
            counts[episode["stage"]] += 1
    return suite, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_info", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.eval_info:
        suite, table = failure_stages(path)
        print(f"{path}: failed episodes by the furthest stage reached")
        for task, counts in table.items():
            stages = get_task(task, suite).stage_names()[:-1]  # every stage but success
            failed = sum(counts[s] for s in stages)
            cells = ", ".join(f"{s} {counts[s]}" for s in stages)
            print(f"  {task}: {failed} of {counts['episodes']} failed; stopped at {cells}")


if __name__ == "__main__":
    main()
