"""`vla data check`: validate and summarise a LeRobot v3.0 dataset, repairing an interrupted recording."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vla.tables import markdown_table


def add_parser(subparsers) -> None:
    data = subparsers.add_parser(
        "data",
        help="check and repair LeRobot datasets",
        description="Check and repair LeRobot v3.0 datasets.",
    )
    commands = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    check = commands.add_parser(
        "check",
        help="validate a dataset and summarise it",
        description=(
            "Validate a LeRobot v3.0 dataset (metadata, data parquet files, videos) and summarise it. "
            "Prints one line per problem, then the summary. "
            "Exit code 0 when there are no errors, 1 otherwise."
        ),
    )
    check.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (it holds meta/info.json)")
    check.add_argument(
        "--repair",
        action="store_true",
        help="first remove what an interrupted recording left, keeping every complete episode",
    )
    check.add_argument(
        "--no-decode",
        action="store_true",
        help="count video frames from packet timestamps instead of decoding them (faster)",
    )
    check.add_argument("--json", type=Path, metavar="FILE", help="also write the report here as JSON")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> int:
    from vla.data.check import check_dataset
    from vla.data.layout import INFO_PATH
    from vla.data.repair import repair_dataset

    root: Path = args.root
    if not root.is_dir():
        return _fail(f"{root} is not a folder")
    if not (root / INFO_PATH).is_file():
        return _fail(f"{root / INFO_PATH} not found: {root} is not the root of a LeRobot dataset")
    if args.repair:
        try:
            print(repair_dataset(root))
        except ValueError as error:
            return _fail(str(error))
    report = check_dataset(root, decode_videos=not args.no_decode)
    for problem in report.errors:
        print(f"ERROR {problem.path}: {problem.message}")
    for problem in report.warnings:
        print(f"WARN {problem.path}: {problem.message}")
    if report.summary is not None:
        print(format_summary(report.summary))
    verdict = "OK" if report.ok else "FAILED"
    print(f"{verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings in {root}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return 0 if report.ok else 1


def format_summary(summary) -> str:
    """The summary block: one `name  value` line per field, then a task table."""
    cameras = ", ".join(f"{key} {'x'.join(map(str, shape))}" for key, shape in summary.cameras.items())
    lines = [
        f"episodes    {summary.episodes}",
        f"frames      {summary.frames}",
        f"duration    {summary.duration_s:.1f} s",
        f"fps         {summary.fps:g}",
        f"robot_type  {summary.robot_type}",
        f"cameras     {cameras or 'none'}",
    ]
    if summary.tasks:
        rows = [[task, count] for task, count in summary.tasks.items()]
        lines += ["", markdown_table(["task", "episodes"], rows)]
    return "\n".join(lines)


def _fail(message: str) -> int:
    print(f"vla data check: error: {message}", file=sys.stderr)
    return 1
