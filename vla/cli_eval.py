"""`vla eval`: a policy's success rates on the suite with 95 % Wilson intervals, videos, eval_info.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vla.tables import markdown_table


def add_parser(subparsers) -> None:
    evaluate = subparsers.add_parser(
        "eval",
        help="evaluate a policy in simulation",
        description="Run seeded episodes of every task in parallel processes; print per-task success with "
        "95% Wilson intervals, write eval_info.json and an mp4 of each task's first episode.",
    )
    evaluate.add_argument(
        "--policy",
        help="checkpoint folder, export folder (vla export) or 'expert' (default: the shipped policy)",
    )
    evaluate.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        help="torch: VLAPolicy; onnx: the torch-free runtime (a checkpoint is exported to <out>/export "
        "first). Default: onnx for an export folder, torch for a checkpoint",
    )
    evaluate.add_argument(
        "--variant", choices=["fp32", "fp16", "int8"], default="fp32", help="onnx backend: which graph"
    )
    evaluate.add_argument(
        "--execute-steps",
        type=int,
        help="actions run from each chunk before the policy is asked again, like LeRobot's n_action_steps "
        "(default: the whole chunk)",
    )
    evaluate.add_argument("--suite", default="tabletop", help="tabletop (8 tasks) or tabletop_compose")
    evaluate.add_argument(
        "--split",
        choices=["train", "heldout", "absent"],
        default="train",
        help="which of the suite's declared splits to run: training compositions, held-out compositions, "
        "absent-object episodes (tabletop_compose; `vla sim list --suite S --split X` lists them)",
    )
    evaluate.add_argument("--task", action="append", help="only these tasks (repeatable)")
    evaluate.add_argument("--episodes-per-task", type=int, default=10)
    evaluate.add_argument("--workers", type=int, default=2)
    evaluate.add_argument(
        "--out",
        type=Path,
        help="output folder (default: a new results/eval/<UTC time>_<policy name> for each run)",
    )
    evaluate.add_argument("--instructions", choices=["train", "heldout"], default="train")
    evaluate.add_argument("--seed", type=int, default=0, help="first layout seed")
    evaluate.add_argument("--no-video", action="store_true")
    evaluate.add_argument(
        "--oracle-objects",
        nargs="?",
        const="exact",
        default="",
        choices=["exact", "grounding"],
        help="diagnostic for a checkpoint trained with --objects.token: its objects token shows "
        "the simulator's exact positions (exact, the default) or its own predictions with the named "
        "object's copied in (grounding) instead of what it predicts (vla/evaluation/oracle.py)",
    )
    evaluate.add_argument(
        "--reuse",
        action="store_true",
        help="keep OUT/eval_info.json when it evaluated the same policy files and settings, instead of "
        "evaluating again (vla/evaluation/reuse.py)",
    )
    evaluate.set_defaults(run=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    from vla.default_policy import default_policy
    from vla.evaluation.runner import EvalConfig

    if args.oracle_objects and args.backend == "onnx":
        raise ValueError("--oracle-objects changes the torch model's input: it runs on --backend torch only")
    spec = args.policy or default_policy()
    args.out = args.out or default_eval_folder(spec)
    print(f"output folder: {args.out}")
    policy = resolve_backend(spec, args.backend, args.variant, args.out)
    config = EvalConfig(
        policy=policy,
        variant=args.variant,
        execute_steps=args.execute_steps,
        oracle_objects=args.oracle_objects,
        suite=args.suite,
        split=args.split,
        episodes_per_task=args.episodes_per_task,
        workers=args.workers,
        out=args.out,
        instructions=args.instructions,
        seed=args.seed,
        videos=not args.no_video,
        tasks=tuple(args.task or ()),
    )
    if args.reuse:
        from vla.evaluation.reuse import reusable_evaluation

        kept = reusable_evaluation(args.out, config)
        if kept is not None:
            print(f"--reuse: {args.out}/eval_info.json already evaluated this policy and these settings")
            print(results_table(kept))
            return 0 if kept["aggregated"]["n_episodes"] else 1
    info = evaluate_and_report(config)
    return 0 if info["aggregated"]["n_episodes"] else 1


def default_eval_folder(policy: str, root: Path = Path("results/eval")) -> Path:
    """A new folder per run, so one run's videos never sit beside another's:
    results/eval/20261205T223000Z_tabletop_nano (a checkpoints/last or step_* folder is named by its run)."""
    from datetime import UTC, datetime

    path = Path(policy)
    name = path.name
    if path.parent.name == "checkpoints":  # runs/nano/checkpoints/last -> nano_last
        name = f"{path.parent.parent.name}_{name}"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder, n = root / f"{stamp}_{name}", 1
    while folder.exists():  # two runs in the same second
        n += 1
        folder = root / f"{stamp}_{name}_{n}"
    return folder


def resolve_backend(policy: str, backend: str | None, variant: str, out: Path) -> str:
    """The policy spec the workers load: a checkpoint run on `--backend onnx` is exported first."""
    from vla.evaluation.policies import EXPERT, is_export_folder

    if policy == EXPERT:
        if backend == "onnx":
            raise ValueError("--backend onnx needs a checkpoint or export folder, not the scripted expert")
        return policy
    if is_export_folder(policy):
        if backend == "torch":
            raise ValueError(f"--policy {policy} is an export folder: it runs on --backend onnx only")
        return policy
    if backend != "onnx":
        return policy
    from vla.export import export_policy

    print(f"exporting {policy} to {out / 'export'} for the onnx backend ...")
    export_policy(Path(policy), out / "export", variants=[variant], progress=lambda message: None)
    return str(out / "export")


def evaluate_with_progress(config, desc: str = "eval episodes") -> dict:
    """`run_evaluation` under a progress bar showing the running success rate."""
    from tqdm import tqdm

    from vla.evaluation.runner import eval_tasks, run_evaluation

    n_tasks = len(eval_tasks(config))
    with tqdm(total=n_tasks * config.episodes_per_task, desc=desc, unit="ep") as bar:
        wins = 0

        def update(outcome) -> None:
            nonlocal wins
            wins += outcome.success
            bar.update(1)
            bar.set_postfix(success=f"{wins / bar.n:.0%}")

        return run_evaluation(config, update)


def evaluate_and_report(config) -> dict:
    """Run, print the table, write eval_info.json; shared by `vla eval` and `vla demo`. A policy that cannot
    load is refused (one line naming the file) before the progress bar starts."""
    from vla.evaluation.policies import check_policy

    check_policy(config.policy, config.variant)
    info = evaluate_with_progress(config)
    config.out.mkdir(parents=True, exist_ok=True)
    (config.out / "eval_info.json").write_text(json.dumps(info, indent=2) + "\n")
    first, last = info["seeds"]
    print(
        f"policy: {config.policy} ({info['backend']})   suite: {info['suite']}   split: {info['split']}   "
        f"instructions: {config.instructions}   seeds {first}..{last}"
    )
    print(results_table(info))
    if len(info["per_family"]) > 1 or len(info["per_task"]) > len(info["per_family"]):
        print(results_table(info, "per_family", "family"))
    print(f"eval_info: {config.out / 'eval_info.json'}")
    if info["video_paths"]:
        print(f"videos (front | wrist): {config.out / 'videos'}/<task>.mp4")
    print(f"output folder: {config.out}")
    return info


def results_table(info: dict, key: str = "per_task", label: str = "task") -> str:
    """Markdown table of eval_info's `key` summaries (per_task: one row per composition; per_family)."""

    def row(name: str, summary: dict) -> list:
        low, high = summary["wilson_95_pc"]
        return [
            name,
            f"{summary['pc_success']:.1f}%",
            f"[{low:.1f}, {high:.1f}]",
            summary["n_episodes"],
            f"{summary['avg_episode_length']:.0f}",
        ]

    rows = [row(name, summary) for name, summary in info.get(key, {}).items()]
    rows.append(row("**overall**", info["aggregated"]))
    return markdown_table([label, "success", "95% Wilson CI", "episodes", "mean length"], rows)
