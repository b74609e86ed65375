"""How well a policy's confidence in the first second predicts that the episode will fail (AUROC).

    python bench/confidence_auroc.py results/a/eval_info.json [results/b/eval_info.json ...] [--json F]

From `vla eval`'s `per_episode` rows: `confidence_first_s` is the mean per-step confidence (mean max-bin
probability) of the chunks inferred in the episode's first second (vla/evaluation/runner.py). The score
for "this episode fails" is 1 - confidence, so an AUROC of 0.5 means the confidence says nothing about
failure and 1.0 that every failed episode started less confident than every successful one. One row per
file and one for all files pooled.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vla.evaluation.runner import read_episodes
from vla.evaluation.stats import auroc


def failure_auroc(episodes: list[dict]) -> dict:
    """AUROC of low first-second confidence predicting failure, with the class sizes and mean confidences;
    auroc is None when every episode won or every one failed."""
    confidence = [row["confidence_first_s"] for row in episodes]
    failed = [not row["success"] for row in episodes]
    won = [c for c, f in zip(confidence, failed, strict=True) if not f]
    lost = [c for c, f in zip(confidence, failed, strict=True) if f]
    both = bool(won) and bool(lost)
    return {
        "episodes": len(episodes),
        "failures": len(lost),
        "auroc_failure": auroc([1.0 - c for c in confidence], failed) if both else None,
        "mean_confidence_won": float(np.mean(won)) if won else None,
        "mean_confidence_lost": float(np.mean(lost)) if lost else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_info", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()
    rows, pooled = {}, []
    for path in args.eval_info:
        _, episodes = read_episodes(path, "confidence_first_s")
        rows[str(path)] = failure_auroc(episodes)
        pooled += episodes
    if len(args.eval_info) > 1:
        rows["pooled"] = failure_auroc(pooled)

    def cell(value) -> str:
        return "–" if value is None else f"{value:.3f}"

    print("| eval | episodes | failed | AUROC (failure) | mean confidence, won | mean confidence, lost |")
    print("|---|---|---|---|---|---|")
    for name, row in rows.items():
        label = name if name == "pooled" else Path(name).parent.name
        print(
            f"| {label} | {row['episodes']} | {row['failures']} | {cell(row['auroc_failure'])} | "
            f"{cell(row['mean_confidence_won'])} | {cell(row['mean_confidence_lost'])} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
