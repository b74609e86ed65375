"""`vla record`: demonstrations (scripted expert or keyboard teleoperation) into a LeRobot v3 dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from vla.tables import markdown_table

DEFAULT_RECORD_SEED = 100_000  # recording seeds stay clear of evaluation seeds (0, 1, 2, ...)
# A keyboard episode's time limit (s): a person jogging the arm key by key takes far longer than the
# policy's 8-14 s per task, and ends the episode by saving or discarding it well before this.
TELEOP_EPISODE_S = 180.0


def add_parser(subparsers) -> None:
    record = subparsers.add_parser(
        "record",
        help="record demonstrations as a LeRobot v3 dataset",
        description="Record demonstrations in the simulator as a LeRobot v3.0 dataset (both cameras as "
        "video, observation.state, action, one task string per episode). Ctrl-C keeps every saved episode.",
    )
    record.add_argument("--source", choices=["expert", "keyboard"], required=True)
    record.add_argument("--root", type=Path, required=True, help="dataset folder (resumed if it exists)")
    record.add_argument("--suite", default="tabletop", help="tabletop (8 tasks) or tabletop_compose")
    record.add_argument(
        "--task",
        action="append",
        help="task name, any composition the suite's scene holds, e.g. pick_blue_cube (repeatable; default: "
        "the suite's training split, with absent-object tasks at --absent-share)",
    )
    record.add_argument(
        "--absent-share",
        type=float,
        help="share of absent-object tasks (absent_<training task>) among the default tasks (default: the "
        "suite's, 0.15 for tabletop_compose, 0 for tabletop)",
    )
    record.add_argument("--episodes-per-task", type=int, default=10, help="expert: saved episodes per task")
    record.add_argument(
        "--episodes", type=int, default=0, help="keyboard: stop after this many saved (0: no limit)"
    )
    record.add_argument(
        "--episode-seconds",
        type=float,
        default=TELEOP_EPISODE_S,
        help="keyboard: an episode ends when you save or discard it, or at this limit (s; the tasks' own "
        "limits, 8-14 s, are the policy's)",
    )
    record.add_argument("--seed", type=int, default=DEFAULT_RECORD_SEED, help="first layout seed")
    record.add_argument(
        "--instructions",
        choices=["train", "heldout"],
        default="train",
        help="training paraphrases only: held-out ones (and held-out compositions) are refused, so no "
        "recording can leak them into training",
    )
    record.add_argument("--vcodec", default="libsvtav1", help="video codec (LeRobot's default: libsvtav1)")
    record.add_argument(
        "--arrays",
        action="store_true",
        help="expert: write a frame cache (uint8 frames + arrays, for training on a GPU machine) instead "
        "of a LeRobot dataset; --root must not exist yet",
    )
    record.add_argument("--workers", type=int, default=1, help="expert --arrays: parallel processes")
    record.add_argument(
        "--expert-noise-deg",
        type=float,
        default=0.0,
        help="expert: perturb the executed arm targets in bursts of up to this many degrees per joint; "
        "the recorded action stays the expert's (DART-style recovery data, sim/expert_noise.py; 0: none)",
    )
    record.set_defaults(run=run_record)


def run_record(args: argparse.Namespace) -> int:
    if args.arrays:
        return _record_arrays(args)
    from sim.env import TabletopEnv, environment_state_names
    from sim.tasks import get_suite
    from vla.contract import CAMERA_NAMES
    from vla.data.features import so101_features
    from vla.data.recorder import STOP_REQUESTED, DatasetRecorder, stop_on_signals

    if not args.episode_seconds > 0:
        raise ValueError(f"--episode-seconds must be > 0 (s), got {args.episode_seconds}")
    tasks = training_tasks(args)
    config = get_suite(args.suite).scene_config()
    cameras = {name: (config.image_height, config.image_width) for name in CAMERA_NAMES}
    features = so101_features(cameras, environment_state_names=environment_state_names(config))
    if args.source == "keyboard":
        from vla.record_keyboard import require_terminal

        require_terminal()  # before the dataset is created or opened: a failed start writes nothing
    recorder = DatasetRecorder(args.root, round(config.control_hz), features, vcodec=args.vcodec)
    if recorder.repair_report is not None and recorder.repair_report.removed:
        print(f"repaired {args.root} before resuming: {recorder.repair_report}")
    start_episodes = recorder.num_episodes
    interrupted = False
    stop_on_signals()
    try:
        teleop_seconds = args.episode_seconds if args.source == "keyboard" else None
        env = TabletopEnv(
            suite=args.suite,
            instructions=args.instructions,
            scene_config=config,
            episode_seconds=teleop_seconds,
        )
        try:
            if args.source == "expert":
                summary = _record_expert(args, env, recorder, tasks)
            else:
                from vla.record_keyboard import KeyboardRecorder

                summary = KeyboardRecorder(env, recorder, tasks, args.seed, args.episodes).run()
        finally:
            env.close()
    except KeyboardInterrupt:
        interrupted = True
    except Exception as error:
        if not STOP_REQUESTED.is_set():
            raise
        # Ctrl-C landing inside a native call can come up as that call's own error instead (seen in a test
        # run: mujoco's EGL eglMakeCurrent, then its context failed); it is still the user's interrupt.
        interrupted = True
        print(f"\n(the interrupt surfaced as {type(error).__name__}: {error})", file=sys.stderr)
    finally:
        recorder.close()
    if recorder.removed_empty:
        print(f"no episode saved: {args.root} was not created", file=sys.stderr)
    saved = recorder.num_episodes - start_episodes
    if interrupted:
        print(
            f"\ninterrupted: the unfinished episode was dropped; {saved} episode(s) saved this run, "
            f"{recorder.num_episodes} in {args.root}",
            file=sys.stderr,
        )
        return 130
    _print_summary(args.root, recorder, summary)
    return 0


def training_tasks(args: argparse.Namespace) -> list[str]:
    """The tasks to record: `--task` names or the suite's training tasks (with absent-object ones at
    `--absent-share`). Each is parsed (a bad name fails listing what is allowed) and checked to be
    training data: a held-out composition or `--instructions heldout` fails before anything is written."""
    from sim.tasks import get_suite

    suite = get_suite(args.suite)
    if args.task and args.absent_share is not None:
        raise ValueError("--absent-share shapes the default task list; with --task, name absent_<task> tasks")
    tasks = list(args.task or suite.training_tasks(args.absent_share))
    for name in tasks:
        suite.check_training_task(name, args.instructions)
    return tasks


def _record_expert(args, env, recorder, tasks):
    from tqdm import tqdm

    from vla.record_expert import record_expert_demonstrations

    if args.episodes_per_task < 1:
        raise ValueError(f"--episodes-per-task must be at least 1, got {args.episodes_per_task}")
    with tqdm(total=len(tasks) * args.episodes_per_task, desc="recording", unit="ep") as bar:

        def update(summary):
            bar.update(1)
            bar.set_postfix(
                frames=summary.frames,
                fps=f"{summary.frames_per_second:.0f}",
                save=f"{summary.save_seconds[-1]:.2f}s",
            )

        return record_expert_demonstrations(
            env, recorder, tasks, args.episodes_per_task, args.seed, update, args.expert_noise_deg
        )


def _record_arrays(args) -> int:
    import time

    from tqdm import tqdm

    from sim.scene import SceneConfig
    from vla.record_arrays import expert_jobs, record_expert_arrays
    from vla.training.frames import save_arrays

    if args.source != "expert":
        raise ValueError("--arrays records the scripted expert only (--source expert)")
    if args.root.exists():
        raise FileExistsError(f"--root {args.root} exists; a frame cache is written once, into a new folder")
    tasks = training_tasks(args)
    jobs = expert_jobs(
        args.suite, tasks, args.episodes_per_task, args.seed, args.instructions, args.expert_noise_deg
    )
    tic = time.perf_counter()
    with tqdm(total=len(tasks) * args.episodes_per_task, desc="recording", unit="ep") as bar:
        arrays = record_expert_arrays(jobs, args.workers, bar.update)
    seconds = time.perf_counter() - tic
    save_arrays(arrays, args.root, round(SceneConfig().control_hz), suite=args.suite)
    episodes, frames = len(np.unique(arrays.episode_start)), len(arrays.state)
    rate = frames / seconds
    print(f"frame cache {args.root}: {episodes} episodes, {frames} frames in {seconds:.1f} s ({rate:.0f}/s)")
    return 0


def _print_summary(root: Path, recorder, summary) -> None:
    rows = [[task, count] for task, count in sorted(summary.per_task.items())]
    print(markdown_table(["task", "episodes saved"], rows))
    print(f"dataset {root}: {recorder.num_episodes} episodes, {recorder.num_frames} frames in total")
    if summary.seconds:
        print(
            f"this run: {summary.episodes} episodes, {summary.frames} frames in {summary.seconds:.1f} s "
            f"({summary.frames_per_second:.0f} frames/s written; real time is {recorder.fps})"
        )
    if summary.save_seconds:
        print(
            f"save_episode blocked for mean {sum(summary.save_seconds) / len(summary.save_seconds):.2f} s, "
            f"max {max(summary.save_seconds):.2f} s"
        )
    if summary.failed_attempts:
        print(f"{summary.failed_attempts} failed expert attempt(s) were discarded")
