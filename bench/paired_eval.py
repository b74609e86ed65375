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
from math import comb
from pathlib import Path

from sim.tasks import get_task
from vla.evaluation.runner import read_episodes


def episode_outcomes(eval_info: Path) -> dict[tuple[str, int], tuple[str, bool]]:
    """(task, seed) -> (task family, success), from an `eval_info.json`'s `suite` and `per_episode` list."""
    suite, episodes = read_episodes(eval_info)
    return {(e["task"], e["seed"]): (get_task(e["task"], suite).family, bool(e["success"])) for e in episodes}


def mcnemar_exact_p(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value: the chance of a split at least this uneven if either policy were
    equally likely to win each discordant episode."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(only_first, only_second) + 1)) / 2**n
    return min(1.0, 2 * tail)


def compare(first: dict, second: dict, family: str | None = None) -> dict:
    """Success counts and discordant episodes over the episodes both share, of one task family or all."""
    keys = [k for k in sorted(first.keys() & second.keys()) if family in (None, first[k][0])]
    won_first = {k: first[k][1] for k in keys}
    won_second = {k: second[k][1] for k in keys}
    only_first = sum(won_first[k] and not won_second[k] for k in keys)
    only_second = sum(won_second[k] and not won_first[k] for k in keys)
    return {
        "episodes": len(keys),
        "first": sum(won_first.values()),
        "second": sum(won_second.values()),
        "only_first": only_first,
        "only_second": only_second,
        "p": mcnemar_exact_p(only_first, only_second),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("first", type=Path, help="eval_info.json of the first policy")
    parser.add_argument("second", type=Path, help="eval_info.json of the second policy")
    args = parser.parse_args()
    first, second = episode_outcomes(args.first), episode_outcomes(args.second)
    shared = first.keys() & second.keys()
    if not shared:
        raise SystemExit(f"{args.first} and {args.second} share no (task, seed) episode")
    families = sorted({first[k][0] for k in shared})
    print("| episodes | n | first wins | second wins | only first | only second | exact McNemar p |")
    print("|---|---|---|---|---|---|---|")
    for label, family in [("all", None), *((family, family) for family in families)]:
        row = compare(first, second, family)
        print(
            f"| {label} | {row['episodes']} | {row['first']} | {row['second']} | {row['only_first']} "
            f"| {row['only_second']} | {row['p']:.3f} |"
        )


if __name__ == "__main__":
    main()
