"""`vla sim list` and `vla sim expert`: the task suite and its scripted experts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vla.tables import markdown_table


def add_parser(subparsers) -> None:
    sim = subparsers.add_parser("sim", help="the MuJoCo task suite", description="The MuJoCo task suite.")
    commands = sim.add_subparsers(dest="sim_command", required=True, metavar="SUBCOMMAND")

    listing = commands.add_parser("list", help="list tasks and their instruction templates")
    listing.add_argument("--suite", default="tabletop")
    listing.set_defaults(run=run_list)

    expert = commands.add_parser(
        "expert",
        help="run the scripted experts and report success rates",
        description="Run every task's scripted expert for seeded episodes and report success rates.",
    )
    expert.add_argument("--suite", default="tabletop")
    expert.add_argument("--episodes", type=int, default=50, help="episodes per task (seeds 0..N-1)")
    expert.add_argument("--workers", type=int, default=2, help="worker processes")
    expert.add_argument("--seed", type=int, default=0, help="first seed")
    expert.add_argument("--json", type=Path, help="write the results here")
    expert.set_defaults(run=run_expert)


def run_list(args: argparse.Namespace) -> int:
    from sim.tasks import suite_tasks

    for task in suite_tasks(args.suite):
        print(f"{task.name}  (family {task.family}, time limit {task.time_limit_s:g} s)")
        for template in task.train_templates:
            print(f"    train    {template}")
        for template in task.heldout_templates:
            print(f"    heldout  {template}")
    return 0


def run_expert(args: argparse.Namespace) -> int:
    from vla.cli_eval import evaluate_with_progress
    from vla.evaluation.runner import EvalConfig

    config = EvalConfig(
        policy="expert",
        suite=args.suite,
        episodes_per_task=args.episodes,
        workers=args.workers,
        seed=args.seed,
        videos=False,
    )
    info = evaluate_with_progress(config, desc="expert episodes")
    results = expert_results(info)
    rows = [
        [name, f"{t['success_rate']:.0%}", t["episodes"], f"{t['mean_steps']:.0f}"]
        for name, t in results["tasks"].items()
    ]
    rows.append(
        [
            "**mean**",
            f"{results['mean_success']:.1%}",
            sum(t["episodes"] for t in results["tasks"].values()),
            "",
        ]
    )
    print(markdown_table(["task", "success", "episodes", "mean steps"], rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def expert_results(info: dict) -> dict:
    """eval_info -> {"tasks": {name: {"success_rate", "episodes", ...}}, "mean_success"} (rates in [0, 1])."""
    tasks = {}
    for name, summary in info["per_task"].items():
        failed = [e["seed"] for e in info["per_episode"] if e["task"] == name and not e["success"]]
        tasks[name] = {
            "success_rate": summary["pc_success"] / 100.0,
            "episodes": summary["n_episodes"],
            "mean_steps": summary["avg_episode_length"],
            "failed_seeds": failed,
        }
    return {"tasks": tasks, "mean_success": sum(t["success_rate"] for t in tasks.values()) / len(tasks)}
