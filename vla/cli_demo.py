"""`vla demo`: the main job end to end: the default policy on every task, a table and a video per task."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the default policy on every task, print a table, write videos",
        description="Evaluate the shipped policy (policies/tabletop_nano) on every task of the suite for a "
        "few episodes; print the table and write a video per task. A missing policy file is an error; "
        "the scripted expert runs only with --policy expert.",
    )
    demo.add_argument(
        "--policy",
        help="checkpoint folder, export folder (vla export) or 'expert' (default: the shipped policy)",
    )
    demo.add_argument("--suite", default="tabletop")
    demo.add_argument("--episodes-per-task", type=int, default=2)
    demo.add_argument("--workers", type=int, default=2)
    demo.add_argument("--out", type=Path, default=Path("results/demo"))
    demo.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from vla.cli_eval import evaluate_and_report
    from vla.default_policy import default_policy
    from vla.evaluation.runner import EvalConfig

    policy = args.policy or default_policy()
    if policy == "expert":
        print("policy: the scripted expert (--policy expert)")
    config = EvalConfig(
        policy=policy,
        suite=args.suite,
        episodes_per_task=args.episodes_per_task,
        workers=args.workers,
        out=args.out,
    )
    evaluate_and_report(config)
    return 0
