"""`vla sim list` and `vla sim expert`: the task suites, their splits and their scripted experts."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vla.tables import markdown_table


def add_parser(subparsers) -> None:
    sim = subparsers.add_parser("sim", help="the MuJoCo task suite", description="The MuJoCo task suite.")
    commands = sim.add_subparsers(dest="sim_command", required=True, metavar="SUBCOMMAND")

    listing = commands.add_parser(
        "list",
        help="list a suite's tasks and their instruction templates",
        description="List a suite's tasks (one split), how task names compose, and their instruction "
        "templates.",
    )
    listing.add_argument("--suite", default="tabletop", help="tabletop (8 tasks) or tabletop_compose")
    listing.add_argument("--split", choices=["train", "heldout", "absent"], default="train")
    listing.add_argument("--names", action="store_true", help="task names only, one per line")
    listing.set_defaults(run=run_list)

    expert = commands.add_parser(
        "expert",
        help="run the scripted experts and report success rates",
        description="Run every task's scripted expert for seeded episodes and report success rates.",
    )
    expert.add_argument("--suite", default="tabletop")
    expert.add_argument("--split", choices=["train", "heldout", "absent"], default="train")
    expert.add_argument("--task", action="append", help="only these tasks (repeatable)")
    expert.add_argument("--episodes", type=int, default=50, help="episodes per task (seeds 0..N-1)")
    expert.add_argument("--workers", type=int, default=2, help="worker processes")
    expert.add_argument("--seed", type=int, default=0, help="first seed")
    expert.add_argument("--json", type=Path, help="write the results here")
    expert.set_defaults(run=run_expert)


def run_list(args: argparse.Namespace) -> int:
    from sim.tasks import get_suite
    from sim.tasks.compose import allowed

    suite = get_suite(args.suite)
    tasks = suite.tasks(args.split)
    if args.names:
        print("\n".join(task.name for task in tasks))
        return 0
    print(f"suite {suite.name}, split {args.split}: {len(tasks)} tasks (splits: {', '.join(suite.splits)})")
    print(f"names compose as {allowed(suite.cube_colours, suite.bowl_colours, suite.varied)}")
    if suite.varied:
        print("scenes vary: 2-5 cubes and 0-2 bowls per episode, colours drawn from the palettes above")
    for task in tasks:
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
        split=args.split,
        tasks=tuple(args.task or ()),
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
    print(f"suite {info['suite']}, split {info['split']}, instructions {info['instructions']}")
    print(markdown_table(["task", "success", "episodes", "mean steps"], rows))
    family_rows = [
        [family, f"{f['success_rate']:.1%}", f["episodes"], f"{f['mean_steps']:.0f}"]
        for family, f in results["families"].items()
    ]
    print(markdown_table(["family", "success", "episodes", "mean steps"], family_rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def expert_results(info: dict) -> dict:
    """eval_info -> {"tasks": {name: {"success_rate", "episodes", ...}}, "families": {family: {...}},
    "mean_success", "suite", "split"} (rates in [0, 1])."""
    tasks = {}
    for name, summary in info["per_task"].items():
        failed = [e["seed"] for e in info["per_episode"] if e["task"] == name and not e["success"]]
        tasks[name] = {
            "success_rate": summary["pc_success"] / 100.0,
            "episodes": summary["n_episodes"],
            "mean_steps": summary["avg_episode_length"],
            "failed_seeds": failed,
        }
    families = {
        family: {
            "success_rate": summary["pc_success"] / 100.0,
            "episodes": summary["n_episodes"],
            "mean_steps": summary["avg_episode_length"],
        }
        for family, summary in info.get("per_family", {}).items()
    }
    return {
        "suite": info["suite"],
        "split": info.get("split", "train"),
        "tasks": tasks,
        "families": families,
        "mean_success": sum(t["success_rate"] for t in tasks.values()) / len(tasks),
    }
