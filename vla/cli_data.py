"""`vla data check`: validate and summarise a LeRobot v3.0 dataset, repairing an interrupted recording;
`vla data from-bag`: a ROS 2 bag as a dataset episode."""

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

    from_bag = commands.add_parser(
        "from-bag",
        help="turn a ROS 2 bag (MCAP) into a LeRobot dataset episode",
        description=(
            "Append a ROS 2 bag (a .mcap file or a rosbag2 folder) of camera, joint and leader topics to a "
            "LeRobot v3.0 dataset as one episode (the dataset is created when ROOT does not exist). Topics "
            "and joint units come from a vla_ros parameters file (default: the values of "
            "config/so101.yaml); frames are sampled at the control rate, as recorder_node records them. "
            "Reads the bag with the pure-Python `rosbags` library: no ROS install needed."
        ),
    )
    from_bag.add_argument("bag", type=Path, metavar="BAG", help="a .mcap file or a rosbag2 folder")
    from_bag.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (created or appended)")
    from_bag.add_argument(
        "--task", default="", help="the episode's instruction (default: the instruction topic)"
    )
    from_bag.add_argument(
        "--params-file", type=Path, metavar="FILE", help="vla_ros parameters (topics, joints, rate)"
    )
    from_bag.add_argument(
        "--namespace", default="", help="namespace the nodes ran in (prefixes relative topics)"
    )
    from_bag.add_argument(
        "--camera",
        action="append",
        metavar="NAME=TOPIC",
        help="a camera and its topic (repeat per camera); replaces the cameras of the parameters",
    )
    from_bag.add_argument(
        "--joint-states-topic", metavar="TOPIC", help="the follower's sensor_msgs/JointState"
    )
    from_bag.add_argument(
        "--action-topic", metavar="TOPIC", help="the leader's JointState or a JointTrajectory (the action)"
    )
    from_bag.add_argument("--instruction-topic", metavar="TOPIC", help="std_msgs/String instruction")
    from_bag.add_argument(
        "--fps", type=int, help="frames per second of the dataset (default: control_rate_hz)"
    )
    from_bag.set_defaults(run=run_from_bag)


def run_check(args: argparse.Namespace) -> int:
    from vla.data.check import check_dataset, require_dataset_root
    from vla.data.repair import repair_dataset
    from vla.runtime.errors import BadInputError

    root: Path = args.root
    try:
        require_dataset_root(root)  # "does not exist" vs "not a dataset", in one line
    except BadInputError as error:
        return _fail(str(error))
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


def run_from_bag(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from vla.data.from_bag import BagError, absolute_topic, conversion_from_params, convert_bag

    try:
        conversion = conversion_from_params(args.params_file, args.namespace, task=args.task, fps=args.fps)
        topics = conversion.topics
        if args.camera:
            pairs = [entry.partition("=") for entry in args.camera]
            if any(not name or not topic for name, _, topic in pairs):
                return _fail(
                    "--camera takes NAME=TOPIC, e.g. --camera front=/camera/front/image_raw", "from-bag"
                )
            topics = replace(topics, cameras={n: absolute_topic(t, args.namespace) for n, _, t in pairs})
        for field_name in ("joint_states", "action", "instruction"):
            topic = getattr(args, f"{field_name}_topic")
            if topic:
                topics = replace(topics, **{field_name: absolute_topic(topic, args.namespace)})
        episode = convert_bag(args.bag, args.root, replace(conversion, topics=topics))
    except (BagError, ValueError) as error:
        return _fail(str(error), "from-bag")
    print(
        f"{args.root}: episode {episode.episode_index} from {args.bag}: {episode.frames} frames "
        f"({episode.skipped} skipped for a stale input), task {episode.task!r}"
    )
    return 0


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


def _fail(message: str, command: str = "check") -> int:
    print(f"vla data {command}: error: {message}", file=sys.stderr)
    return 1
