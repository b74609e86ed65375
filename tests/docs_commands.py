"""Every shell command in README.md and the docs it links, run in order at a tiny size.

The documents a user follows are README.md and the `docs/*.md` pages it links (one level; docs/LOG.md and
docs/RESULTS.md hold history and figures, not instructions). Each ```bash block line is one command
(a trailing backslash continues it, `#` starts a comment). Each command is, by the tables below:

- run as written, with its size flags made tiny (SIZE_FLAGS, ADDED_FLAGS) and placeholders filled
  (PLACEHOLDERS), in one working folder shared by all commands in document order: README first, then
  each linked page top to bottom, so a path an earlier command writes (`runs/nano/checkpoints/last`) is
  there when a later one reads it. `make <target>` runs its recipe (`make -n`), each line sized the same;
- driven through a pseudo-terminal (INTERACTIVE: keyboard teleoperation, keys scripted);
- started and stopped once ready (UNTIL_STOPPED: ROS nodes that spin until Ctrl-C);
- or skipped for the reason SKIPPED gives (hardware, a ROS install, the test suite itself).

The working folder links the repository's files and keeps every output (datasets/, runs/, results/,
exports/) to itself, so the checkout is never written to.

As a script, it runs everything and writes the report (the issue's measure):
    .venv/bin/python -m tests.docs_commands --json docs/results/docs_commands.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
README = "README.md"
# Linked pages that are records, not instructions: their commands reproduce past figures at full size.
NOT_INSTRUCTIONS = {"docs/LOG.md", "docs/RESULTS.md"}
# Folders commands write into: real (empty) folders in the working copy, never links to the checkout.
OUTPUT_DIRS = ("datasets", "runs", "results", "exports", "outputs")
NOT_LINKED = {".git", ".pytest_cache", ".ruff_cache", "__pycache__", *OUTPUT_DIRS}

# Commands matched by how their text starts: why each one is not run here.
SKIPPED: dict[str, str] = {
    "make test": "runs the whole test suite, this test included",
    "make test-fast": "runs the test suite, this test included",
    "make test-docs": "runs this test itself",
    "make setup": "installs or refreshes .venv, which this test runs in",
    "source .venv/bin/activate": "changes the calling shell; the test puts .venv/bin first on PATH instead",
    "colcon build": "needs a ROS 2 install (colcon, ament_python); tests/test_ros_logic.py checks the "
    "package's metadata, and the dev install has it editable",
    "ros2 launch": "needs a ROS 2 install (launch_ros is not installable from PyPI); "
    "tests/test_ros_logic.py parses every launch file against the package",
    "ros2 ": "needs a ROS 2 install (the ros2 CLI)",
    "torchrun": "needs several GPUs (DDP)",
    "bash recipes/gpu_": "a GPU recipe: needs the GPU machine (H100/H200) and hours",
    "bash deploy/jetson/": "needs a Jetson with TensorRT (trtexec)",
    "lerobot-find-port": "needs an SO-101 on USB (it asks you to unplug the cable)",
    "lerobot-calibrate": "needs an SO-101 arm (or leader arm) on a serial port, moved by hand",
    "lerobot-teleoperate --robot.type=so101_follower": "needs an SO-101 follower and leader on serial ports",
    "lerobot-record --robot.type=so101_follower": "needs an SO-101 follower and leader on serial ports",
    "lerobot-replay --robot.type=so101_follower": "needs an SO-101 arm on a serial port",
    "lerobot-rollout --robot.type=so101_follower": "needs an SO-101 arm on a serial port and cameras",
}

# Commands that read the checkout itself (its sources), run there: they write nothing but caches.
IN_CHECKOUT: dict[str, str] = {"make lint": "ruff reads the sources; the working copy holds only links"}

# Commands that spin until stopped: started, ready when their log matches, then stopped with Ctrl-C.
UNTIL_STOPPED: dict[str, str] = {
    "sim_bridge_node": r"episode \d+: seed",
    "policy_node": r"loaded \S+ \(",
}


@dataclass(frozen=True)
class Session:
    """An interactive command's script: (text to wait for, keys to send) pairs, and arguments appended."""

    keys: tuple[tuple[str, str], ...]
    extra: tuple[str, ...] = ()


# Interactive commands, run in a pseudo-terminal with the keys a user would press.
INTERACTIVE: dict[str, Session] = {
    # `p` hands the arm to the scripted expert, `S` saves once the task succeeds; one episode, then it stops.
    "vla record --source keyboard": Session(
        keys=(("status: recording", "p"), ("task succeeded", "S"), (r"stopped: 1 episode\(s\) saved", "")),
        extra=("--episodes", "1"),
    ),
    # Keyboard jogging of the sim robot for --teleop_time_s: no key needed, it ends on its own.
    "lerobot-teleoperate --robot.type=tabletop_sim": Session(keys=()),
}

# Size flags set to a tiny value wherever a command carries them, per program (first words of argv).
_ONE_EPISODE = {"--episodes-per-task": "1", "--episodes": "1", "--workers": "1"}
_TINY_TRAINING = {
    "--optim.steps": "2",
    "--optim.batch_size": "2",
    "--run.save_every": "2",
    "--optim.warmup_steps": "1",
    "--policy.model": "debug",
    "--optim.max_seconds": "60",
    "--data.stream.workers": "1",
    "--data.stream.capacity": "400",
    "--data.stream.start_frames": "100",
    "--data.val_batches": "1",
}
SIZE_FLAGS: dict[tuple[str, ...], dict[str, str]] = {
    ("vla", "eval"): _ONE_EPISODE,
    ("vla", "demo"): _ONE_EPISODE,
    ("vla", "record"): _ONE_EPISODE,
    ("vla", "sim", "expert"): _ONE_EPISODE,
    ("vla", "train"): _TINY_TRAINING,
    ("vla", "bench", "sim"): {"--steps": "3"},
    ("vla", "bench", "record"): {"--episodes": "1"},
    ("vla", "bench", "policy"): {"--batch-size": "2", "--train-steps": "1", "--infer-calls": "3"},
    ("vla", "bench", "latency"): {"--calls": "3"},
    ("lerobot-train",): {
        "--steps": "2",
        "--batch_size": "2",
        "--save_freq": "2",
        "--eval_freq": "0",
        "--policy.preset": "debug",
        "--num_workers": "0",
    },
    ("lerobot-eval",): {"--eval.n_episodes": "1", "--eval.batch_size": "1"},
    ("lerobot-teleoperate",): {"--teleop_time_s": "2"},
    ("lerobot-record",): {"--dataset.num_episodes": "1", "--dataset.episode_time_s": "2"},
    ("lerobot-rollout",): {"--duration": "2"},
}
# Flags added when a command leaves them at a large default: (flag, value); value "" adds a bare switch.
ADDED_FLAGS: dict[tuple[str, ...], list[tuple[str, str]]] = {
    ("vla", "eval"): [
        ("--task", "push_green_cube_right"),  # the shortest task: ~3 s of simulated time when it succeeds
        ("--episodes-per-task", "1"),
        ("--workers", "1"),
        ("--no-video", ""),
    ],
    ("vla", "demo"): [("--episodes-per-task", "1")],
    ("vla", "record"): [("--task", "pick_red_cube")],
    ("vla", "sim", "expert"): [("--episodes", "1")],
    ("vla", "train"): [
        (flag, value) for flag, value in _TINY_TRAINING.items() if flag != "--optim.max_seconds"
    ],
    ("vla", "bench", "sim"): [("--steps", "3")],
    ("vla", "bench", "record"): [("--episodes", "1")],
    ("vla", "bench", "policy"): [("--train-steps", "1"), ("--infer-calls", "3")],
    ("vla", "bench", "latency"): [("--calls", "3")],
}
# The architecture is a size only for a model built from scratch: `--policy.init` takes the checkpoint's.
KEEP_MODEL_WITH, MODEL_FLAG = "--policy.init", "--policy.model"
# Placeholders a page may use, filled with what an earlier command made.
PLACEHOLDERS = {
    "<dataset>": "datasets/tabletop_expert",
    "<checkpoint>": "runs/nano/checkpoints/last",
    "<export>": "exports/tabletop_nano",
}
SUBCOMMAND_GROUPS = {"sim", "data", "bench"}  # `vla <group> <subcommand>`
COMMAND_TIMEOUT_S = 600


@dataclass
class DocCommand:
    """One command as written in a page: where (`README.md:12`) and its text (continuations joined)."""

    source: str
    text: str


@dataclass
class Outcome:
    """What the runner did with one command."""

    source: str
    command: str
    action: str  # "ran", "interactive", "until-stopped" or "skipped"
    ran: str = ""  # the command line actually run (sized, placeholders filled)
    reason: str = ""
    seconds: float = 0.0
    ok: bool = True
    output_tail: str = field(default="", repr=False)


def bash_commands(path: Path, root: Path = REPO) -> list[DocCommand]:
    """The commands in `path`'s ```bash blocks, one per line, continuations joined, comments removed."""
    commands, in_block, pending, start = [], False, "", 0
    relative = path.relative_to(root).as_posix()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fence = line.strip()
        if fence.startswith("```"):
            in_block = not in_block and fence[3:].strip() in ("bash", "sh", "shell", "console")
            continue
        if not in_block:
            continue
        if not pending:
            start = number
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        text = " ".join(shlex.split(pending, comments=True))
        if text:
            commands.append(DocCommand(f"{relative}:{start}", _unsplit(pending)))
        pending = ""
    return commands


def _unsplit(line: str) -> str:
    """The command without its comment, whitespace normalised, quoting kept."""
    lexer = shlex.shlex(line, posix=False, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return " ".join(lexer)


def linked_pages(readme: Path, root: Path = REPO, missing_ok: bool = False) -> list[Path]:
    """The repository's docs/*.md pages that `readme` links, in order of first link, without history.

    A link to a page that does not exist raises FileNotFoundError (skipped when `missing_ok`).
    """
    pages: list[Path] = []
    for target in re.findall(r"\]\(([^)\s#]+\.md)(?:#[^)]*)?\)", readme.read_text()):
        page = (readme.parent / target).resolve()
        relative = page.relative_to(root).as_posix() if page.is_relative_to(root) else ""
        if not relative.startswith("docs/") or relative in NOT_INSTRUCTIONS or page in pages:
            continue
        if not page.is_file():
            if missing_ok:
                continue
            raise FileNotFoundError(f"{readme.name} links {target}, which does not exist")
        pages.append(page)
    return pages


def documented_commands(root: Path = REPO, missing_ok: bool = False) -> list[DocCommand]:
    """README.md's commands, then each linked page's, in reading order."""
    readme = root / README
    commands = bash_commands(readme, root)
    for page in linked_pages(readme, root, missing_ok):
        commands += bash_commands(page, root)
    return commands


def _match(table: dict, text: str):
    """The entry of `table` whose key starts `text` as whole words (the longest such key), or None."""

    def starts(key: str) -> bool:
        return text == key.strip() or text.startswith(key if key.endswith((" ", "_", "/")) else key + " ")

    keys = [key for key in table if starts(key)]
    return table[max(keys, key=len)] if keys else None


def program(argv: list[str]) -> tuple[str, ...]:
    """The words that name what runs: `vla bench sim`, `vla eval`, `lerobot-train`, `python bench/x.py`."""
    name = Path(argv[0]).name if argv[0].startswith(".venv/bin/") else argv[0]
    if name == "vla" and len(argv) > 1:
        return ("vla", *argv[1:3]) if argv[1] in SUBCOMMAND_GROUPS else ("vla", argv[1])
    if name in ("python", "python3") and len(argv) > 1:
        return (name, argv[1])
    return (name,)


def sized(argv: list[str]) -> list[str]:
    """`argv` with its size flags made tiny, missing ones added and placeholders filled."""
    argv = [_fill(word) for word in argv]
    name = program(argv)
    sizes = dict(SIZE_FLAGS.get(name, {}))
    added = ADDED_FLAGS.get(name, [])
    if KEEP_MODEL_WITH in argv:
        sizes.pop(MODEL_FLAG, None)
        added = [(flag, value) for flag, value in added if flag != MODEL_FLAG]
    out: list[str] = []
    skip_next = False
    for index, word in enumerate(argv):
        if skip_next:
            skip_next = False
            continue
        flag, equals, _ = word.partition("=")
        if flag in sizes and equals:
            out.append(f"{flag}={sizes[flag]}")
        elif word in sizes and index + 1 < len(argv):
            out += [word, sizes[word]]
            skip_next = True
        else:
            out.append(word)
    for flag, value in added:
        if not any(word == flag or word.startswith(flag + "=") for word in out):
            out += [flag, value] if value else [flag]
    return out


def _fill(word: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        word = word.replace(placeholder, value)
    return word


def prepare_workdir(workdir: Path, root: Path = REPO) -> None:
    """Link the checkout's top-level entries into `workdir`; output folders are real and empty."""
    for entry in root.iterdir():
        if entry.name not in NOT_LINKED:
            (workdir / entry.name).symlink_to(entry)
    for name in OUTPUT_DIRS:
        (workdir / name).mkdir(exist_ok=True)


def command_env() -> dict[str, str]:
    """The user's environment after `source .venv/bin/activate`, rendering headless."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env.setdefault("MUJOCO_GL", "egl")
    env["HF_HUB_OFFLINE"] = "1"  # nothing may download at run time
    # ROS nodes started here must not talk to another test's nodes on this machine.
    env["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 100)
    env.pop("PYTHONPATH", None)
    return env


def run_command(command: DocCommand, workdir: Path, env: dict[str, str]) -> Outcome:
    """Run (or skip) one documented command in `workdir`; `ok` is False when it failed."""
    outcome = Outcome(command.source, command.text, "skipped")
    reason = _match(SKIPPED, command.text)
    if reason is not None:
        outcome.reason = reason
        return outcome
    argv = shlex.split(command.text)
    if _match(IN_CHECKOUT, command.text) is not None:
        workdir = REPO
    if argv[0] == "make":
        return _run_make(command, argv, workdir, env)
    tic = time.perf_counter()
    session = _match(INTERACTIVE, command.text)
    ready = _match(UNTIL_STOPPED, command.text)
    if session is not None:
        outcome.action, argv = "interactive", sized(argv)
        argv += [] if session.extra[:1] and session.extra[0] in argv else list(session.extra)
        outcome.ok, outcome.output_tail = _run_interactive(argv, session.keys, workdir, env)
    elif ready is not None:
        outcome.action = "until-stopped"
        outcome.ok, outcome.output_tail = _run_until_ready(argv, ready, workdir, env)
    else:
        outcome.action, argv = "ran", sized(argv)
        outcome.ok, outcome.output_tail = _run(argv, workdir, env)
    outcome.ran = shlex.join(argv)
    outcome.seconds = round(time.perf_counter() - tic, 1)
    return outcome


def _run(argv: list[str], workdir: Path, env: dict[str, str]) -> tuple[bool, str]:
    try:
        result = subprocess.run(
            argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
        )
    except FileNotFoundError as error:
        return False, f"{error}"
    except subprocess.TimeoutExpired:
        return False, f"timed out after {COMMAND_TIMEOUT_S} s"
    output = (result.stdout + result.stderr)[-3000:]
    return result.returncode == 0, f"exit {result.returncode}\n{output}"


def make_recipe(argv: list[str], workdir: Path, env: dict[str, str]) -> tuple[list[list[str]], str]:
    """The recipe lines `make <target>` would run (setup excluded), or the error of the dry run.

    Run under `make test-docs`, make's own MAKELEVEL/MAKEFLAGS reach this dry run and make prints
    "make[1]: Entering directory" lines among the recipe; a top-level dry run prints only the recipe."""
    top_level = {key: value for key, value in env.items() if key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    dry = subprocess.run(
        [*argv[:1], "-n", "--no-print-directory", "-o", ".venv/.installed", *argv[1:]],
        cwd=workdir,
        env=top_level,
        capture_output=True,
        text=True,
    )
    if dry.returncode != 0:
        return [], dry.stderr[-2000:]
    return [shlex.split(line) for line in dry.stdout.splitlines() if line.strip()], ""


def _run_make(command: DocCommand, argv: list[str], workdir: Path, env: dict[str, str]) -> Outcome:
    """`make <target>`: its recipe lines (as `make -n` prints them, setup excluded), each one sized."""
    tic = time.perf_counter()
    outcome = Outcome(command.source, command.text, "ran")
    lines, error = make_recipe(argv, workdir, env)
    if error:
        outcome.ok, outcome.output_tail = False, error
        return outcome
    outcome.ran = " && ".join(shlex.join(sized(line)) for line in lines)
    for line in lines:
        outcome.ok, outcome.output_tail = _run(sized(line), workdir, env)
        if not outcome.ok:
            break
    outcome.seconds = round(time.perf_counter() - tic, 1)
    return outcome


def _run_interactive(argv, keys, workdir: Path, env) -> tuple[bool, str]:
    import pexpect

    session = pexpect.spawn(
        argv[0], argv[1:], cwd=str(workdir), env=env, encoding="utf-8", timeout=180, dimensions=(40, 200)
    )
    log: list[str] = []
    waiting_for = "the end of the output"
    try:
        for waiting_for, send in keys:
            session.expect(waiting_for)
            log.append(session.before[-500:] + session.after)
            if send:
                session.send(send)
        waiting_for = "the end of the output"
        session.expect(pexpect.EOF)
        log.append(session.before[-1000:])
    except (pexpect.TIMEOUT, pexpect.EOF) as error:
        session.close(force=True)
        return False, f"{type(error).__name__} waiting for {waiting_for!r}\n{(session.before or '')[-2000:]}"
    except BaseException:
        session.close(force=True)
        raise
    session.close()
    return session.exitstatus == 0, f"exit {session.exitstatus}\n{''.join(log)[-2000:]}"


def _run_until_ready(argv, ready: str, workdir: Path, env, timeout_s: float = 120.0) -> tuple[bool, str]:
    """Start a command that spins until stopped; ok when its log matches `ready` while it still runs."""
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout_s
        seen = alive = False
        try:
            while time.monotonic() < deadline and process.poll() is None and not seen:
                time.sleep(0.5)
                log.seek(0)
                seen = re.search(ready, log.read()) is not None
            alive = process.poll() is None
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # what Ctrl-C sends: the node shuts down cleanly
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        log.seek(0)
        output = log.read()[-3000:]
    ok = seen and alive and "Traceback" not in output
    return ok, f"ready: {seen}, running when stopped: {alive}\n{output}"


def run_all(
    workdir: Path, root: Path = REPO, on_outcome=None, missing_ok: bool = False, only: str | None = None
) -> list[Outcome]:
    """Run every documented command in order in `workdir` (prepared here); stop at nothing.

    `only`: run just the commands whose source (`docs/export.md:9`) starts with one of these comma-separated
    prefixes (a debugging aid: what the others would have made is missing).
    """
    prepare_workdir(workdir, root)
    env = command_env()
    outcomes = []
    for command in documented_commands(root, missing_ok):
        if only and not command.source.startswith(tuple(only.split(","))):
            continue
        outcome = run_command(command, workdir, env)
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)
    return outcomes


def report(outcomes: list[Outcome]) -> dict:
    """The JSON report: every command with what was done, the reason for each skip, seconds."""
    rows = [{k: v for k, v in asdict(o).items() if k != "output_tail"} for o in outcomes]
    counts = {
        action: sum(o.action == action for o in outcomes) for action in sorted({o.action for o in outcomes})
    }
    return {
        "counts": counts,
        "failed": [o.source for o in outcomes if not o.ok],
        "seconds": round(sum(o.seconds for o in outcomes), 1),
        "commands": rows,
    }


def format_outcome(outcome: Outcome) -> str:
    verdict = "ok" if outcome.ok else "FAILED"
    if outcome.action == "skipped":
        return f"skipped  {outcome.source}  {outcome.command}\n         reason: {outcome.reason}"
    return f"{verdict:8s} {outcome.source}  ({outcome.action}, {outcome.seconds:.0f} s)  {outcome.ran}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--list", action="store_true", help="only list the commands, sized, without running")
    parser.add_argument(
        "--only",
        help="only the commands whose source starts with one of these (comma-separated, e.g. docs/export.md)",
    )
    parser.add_argument(
        "--allow-missing", action="store_true", help="skip linked pages that do not exist yet (drafts)"
    )
    args = parser.parse_args(argv)
    # `kill` stops the running command too (subprocess.run kills its child on an exception) and cleans up.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.list:
        for command in documented_commands(missing_ok=args.allow_missing):
            reason = _match(SKIPPED, command.text)
            shown = f"skip: {reason}" if reason else shlex.join(sized(shlex.split(command.text)))
            print(f"{command.source:28s} {command.text}\n{'':28s} -> {shown}")
        return 0
    with tempfile.TemporaryDirectory(prefix="vla_docs_") as folder:
        outcomes = run_all(
            Path(folder),
            on_outcome=lambda o: print(format_outcome(o), flush=True),
            missing_ok=args.allow_missing,
            only=args.only,
        )
    summary = report(outcomes)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("counts", "failed", "seconds")}))
    return 0 if not summary["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
