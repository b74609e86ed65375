"""Issue 35's figures from `vla eval` outputs: per split, success, `abstain` raised in the first second,
and, on the absent-object split, both together (touch nothing and refuse within 1 s: its target); the
failures by stage (vla/evaluation/stages.py) for each.

    python bench/grounding_splits.py results/<run>_{train_e3,heldout_e5,absent_e3,tabletop_e13}/eval_info.json
        [--json docs/results/pointer/splits.json]

Abstain counts as raised at vla.contract.ABSTAIN_THRESHOLD (0.5), as `vla eval` holds the arm at it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from vla.contract import ABSTAIN_THRESHOLD
from vla.evaluation.runner import read_episodes
from vla.evaluation.stats import wilson_interval


def split_figures(eval_info: Path) -> dict:
    """{"suite", "split", "episodes", "pc_success" and its "wilson_95_pc", "pc_abstained_first_s",
    "pc_held_after_first_s" and "failed_and_held_after_first_s" (where the evaluation counted late holds),
    "pc_touched_nothing_and_abstained" (absent split), "failures_by_stage", "by_family"} of one evaluation."""
    suite, episodes = read_episodes(eval_info)
    split = json.loads(Path(eval_info).read_text()).get("split", "train")
    n = len(episodes)
    successes = sum(bool(e["success"]) for e in episodes)
    # evaluations from before `abstain` (and policies that never abstain) record none: never refused
    refused = [(e.get("abstain_first_s") or 0.0) >= ABSTAIN_THRESHOLD for e in episodes]
    low, high = wilson_interval(successes, n)
    figures = {
        "file": str(eval_info),
        "suite": suite,
        "split": split,
        "episodes": n,
        "pc_success": 100.0 * successes / n,
        "wilson_95_pc": [100.0 * low, 100.0 * high],
        "pc_abstained_first_s": 100.0 * sum(refused) / n,
        "failures_by_stage": dict(Counter(e["stage"] for e in episodes if not e["success"]).most_common()),
        "by_family": family_figures(suite, episodes),
    }
    late = [e.get("held_after_first_s") for e in episodes]
    if all(count is not None for count in late):  # recorded since the eval counted late holds
        # episodes the policy refused mid-episode (some chunk held on abstain after the first second)
        figures["pc_held_after_first_s"] = 100.0 * sum(count > 0 for count in late) / n
        figures["failed_and_held_after_first_s"] = sum(
            count > 0 and not e["success"] for e, count in zip(episodes, late, strict=True)
        )
    if split == "absent":
        both = sum(bool(e["success"]) and r for e, r in zip(episodes, refused, strict=True))
        low, high = wilson_interval(both, n)
        figures["pc_touched_nothing_and_abstained"] = 100.0 * both / n
        figures["both_wilson_95_pc"] = [100.0 * low, 100.0 * high]
    return figures


def family_figures(suite: str, episodes: list[dict]) -> dict:
    """{family: {"episodes", "pc_success", "failures_by_stage"}} in the order the families first appear:
    where a split's failures lie (a composition split mixes picks, places, pushes and stacks)."""
    from sim.tasks import get_task

    families: dict[str, list[dict]] = {}
    for episode in episodes:
        families.setdefault(get_task(episode["task"], suite).family, []).append(episode)
    return {
        family: {
            "episodes": len(rows),
            "pc_success": 100.0 * sum(bool(e["success"]) for e in rows) / len(rows),
            "failures_by_stage": dict(Counter(e["stage"] for e in rows if not e["success"]).most_common()),
        }
        for family, rows in families.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("eval_info", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    rows = [split_figures(path) for path in args.eval_info]
    for row in rows:
        low, high = row["wilson_95_pc"]
        line = (
            f"{row['suite']:<17} {row['split']:<8} n={row['episodes']:<4} success {row['pc_success']:5.1f} % "
            f"[{low:.1f}, {high:.1f}]  abstain<1s {row['pc_abstained_first_s']:5.1f} %"
        )
        if "pc_held_after_first_s" in row:
            line += f"  held later {row['pc_held_after_first_s']:5.1f} %"
        if "pc_touched_nothing_and_abstained" in row:
            line += f"  both {row['pc_touched_nothing_and_abstained']:5.1f} %"
        print(line, "\n   failures:", row["failures_by_stage"])
        for family, figures in row["by_family"].items():
            print(
                f"   {family:<8} n={figures['episodes']:<4} success {figures['pc_success']:5.1f} %  "
                f"failures: {figures['failures_by_stage']}"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
