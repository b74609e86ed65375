"""The `vla` command: one entry point, one subcommand module per job.

vla sim list | vla sim expert      the task suite and its scripted experts   (vla/cli_sim.py)
vla record                         demonstrations into a LeRobot dataset     (vla/cli_record.py)
vla data check                     validate, summarise, repair a dataset     (vla/cli_data.py)
vla train                          train the policy                          (vla/cli_train.py)
vla eval                           success rates in simulation               (vla/cli_eval.py)
vla export                         ONNX export for the torch-free runtime    (vla/cli_export.py)
vla bench sim | vla bench record   speed figures                             (vla/cli_bench.py)
vla demo                           the main job, end to end                  (vla/cli_demo.py)
"""

from __future__ import annotations

import argparse
import sys

from vla import (
    __version__,
    cli_bench,
    cli_data,
    cli_demo,
    cli_eval,
    cli_export,
    cli_record,
    cli_sim,
    cli_train,
)
from vla.runtime.errors import BadInputError

COMMANDS = (cli_sim, cli_record, cli_data, cli_train, cli_eval, cli_export, cli_bench, cli_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vla", description="Vision-language-action stack for the SO-101.")
    parser.add_argument("--version", action="version", version=f"vla {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


# Errors that mean "bad input", not "bug": printed as one line with no traceback. BadInputError is the stack's
# own (a file or folder it refuses, vla/runtime/errors.py); the others are what argument checks raise.
INPUT_ERRORS = (BadInputError, KeyError, ValueError, FileNotFoundError, FileExistsError)


def error_line(command: str, error: BaseException) -> str:
    """`vla <command>: error: <message>` (a KeyError's message without the quotes str() adds)."""
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    return f"vla {command}: error: {message}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except INPUT_ERRORS as error:
        print(error_line(args.command, error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
