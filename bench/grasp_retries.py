"""How often a policy grasps more than once, and whether those episodes succeed, per task family.

    python bench/grasp_retries.py results/a/eval_info.json [results/b/eval_info.json ...]

From `vla eval`'s `per_episode` list: `gripper_closes` counts the times the gripper command fell to shut
after being open (vla/evaluation/runner.py). For the grasping families (pick, place, stack) one close is a
single attempt and two or more a retry, so "retried, won" counts the episodes a second grasp rescued.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from sim.tasks import get_task
from vla.evaluation.runner import read_episodes


def retry_table(eval_info: Path) -> dict[str, Counter]:
    """family -> Counter of (won | lost, closes capped at 2) over the file's episodes."""
    suite, episodes = read_episodes(eval_info, "gripper_closes")
    table: dict[str, Counter] = {}
    for episode in episodes:
        family = get_task(episode["task"], suite).family
        outcome = "won" if episode["success"] else "lost"
        table.setdefault(family, Counter())[(outcome, min(episode["gripper_closes"], 2))] += 1
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_info", nargs="+", type=Path)
    args = parser.parse_args()
    columns = [("won", 0), ("won", 1), ("won", 2), ("lost", 0), ("lost", 1), ("lost", 2)]
    print(
        "| eval | family | won, no grasp | won, 1 | won, 2+ (retried) | lost, no grasp | lost, 1 | lost, 2+ |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for path in args.eval_info:
        for family, counts in retry_table(path).items():
            cells = " | ".join(str(counts[c]) for c in columns)
            print(f"| {path.parent.name} | {family} | {cells} |")


if __name__ == "__main__":
    main()
