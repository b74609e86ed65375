"""Two evaluations of the same episodes side by side: which episodes only one of them won, and whether that
split could be chance (an exact two-sided McNemar test), overall and per task family.

    python bench/paired_eval.py results/new/eval_info.json results/old/eval_info.json

Both files come from `vla eval` with the same suite, seeds and instructions, so episode (task, seed) is the
same layout in both and only the policy differs. Two success rates 1-2 points apart over 800 episodes say
little on their own (their Wilson intervals are ~7 points wide); the discordant episodes say how many
layouts changed outcome and in which direction.
"""

from __future__ import annotations

import argparse
import json
from math import comb
from pathlib import Path


def episode_successes(eval_info: Path) -> dict[tuple[str, int], bool]:
    """(task, seed) -> success, from an `eval_info.json`'s `per_episode` list."""
    return {
        (e["task"], e["seed"]): bool(e["success"]) for e in json.loads(eval_info.read_text())["per_episode"]
    }


def mcnemar_exact_p(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value: the chance of a split at least this uneven if either policy were
    equally likely to win each discordant episode."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(only_first, only_second) + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare(first: dict, second: dict, prefix: str = "") -> dict:
    keys = sorted(k for k in first.keys() & second.keys() if k[0].startswith(prefix))
    only_first = sum(first[k] and not second[k] for k in keys)
    only_second = sum(second[k] and not first[k] for k in keys)
    return {
        "episodes": len(keys),
        "first": sum(first[k] for k in keys),
        "second": sum(second[k] for k in keys),
        "only_first": only_first,
        "only_second": only_second,
        "p": mcnemar_exact_p(only_first, only_second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="eval_info.json of the first policy")
    parser.add_argument("second", type=Path, help="eval_info.json of the second policy")
    args = parser.parse_args()
    first, second = episode_successes(args.first), episode_successes(args.second)
    if not first.keys() & second.keys():
        raise SystemExit(f"{args.first} and {args.second} share no (task, seed) episode")
    families = sorted({task.split("_")[0] for task, _ in first.keys() & second.keys()})
    print("| episodes | n | first wins | second wins | only first | only second | exact McNemar p |")
    print("|---|---|---|---|---|---|---|")
    for label, prefix in [("all", ""), *((f"{family}*", family) for family in families)]:
        row = compare(first, second, prefix)
        print(
            f"| {label} | {row['episodes']} | {row['first']} | {row['second']} | {row['only_first']} "
            f"| {row['only_second']} | {row['p']:.3f} |"
        )


if __name__ == "__main__":
    main()
