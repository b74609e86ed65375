"""Every `vla` command line in the recipes names options the CLI has: a renamed flag breaks the test, not
the next borrowed GPU session (recipes run only there, so nothing else would notice)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from vla.cli import build_parser
from vla.config_cli import leaves
from vla.training.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
# recipes/historical/ holds the scripts of earlier stages, which run only at the commit their header names
SCRIPTS = sorted([*ROOT.glob("recipes/*.sh"), *ROOT.glob("bench/gpu/*.sh")])
# `-m vla SUBCOMMAND ...` or `bin/vla SUBCOMMAND ...` (a nested one such as `bench policy` included) up to
# the end of the command: a pipe, a redirection, `&`, `;` or `||`.
COMMAND = re.compile(r"(?:-m |bin/)vla (\w+(?: [a-z]\w*)?)((?:(?!\s(?:\||2>|>|&|;)).)*)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_.-]*")
ARRAY = re.compile(r"(\w+)=\(([^)]*)\)")  # bash arrays of flags, spliced in as "${name[@]}"
SPLICE = re.compile(r"\$\{(\w+)\[@\]\}")


def vla_commands(script: Path) -> list[tuple[str, list[str]]]:
    """(subcommand, its --flags) for every `vla` command line; continued lines are joined first and the
    flags of every array the line splices in (any definition of it) are counted as the line's."""
    text = script.read_text().replace("\\\n", " ")
    arrays: dict[str, list[str]] = {}
    for name, body in ARRAY.findall(text):
        arrays.setdefault(name, []).extend(FLAG.findall(body))
    commands = []
    for match in COMMAND.finditer(text):
        flags = FLAG.findall(match[2])
        flags += [flag for name in SPLICE.findall(match[2]) for flag in arrays.get(name, [])]
        commands.append((match[1], flags))
    return commands


def subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    choices = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return choices[0].get(name) if choices else None


def subcommand_options(command: str) -> set[str]:
    """The options of `vla <command>`; "bench policy" is a nested subcommand, "data check" too; `vla train`'s
    come from its config tree."""
    if command == "train":
        return {"--preset", "--config"} | {f"--{name}" for name, _, _ in leaves(TrainConfig)}
    parser = build_parser()
    for word in command.split():
        nested = subparser(parser, word)
        if nested is None:
            break
        parser = nested
    return {option for action in parser._actions for option in action.option_strings}


def test_the_recipes_call_vla():
    calls = [command for script in SCRIPTS for command in vla_commands(script)]
    assert {"record", "train", "eval", "bench policy"} <= {name for name, _ in calls}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_flag_a_recipe_passes_exists(script):
    for name, flags in vla_commands(script):
        unknown = sorted(set(flags) - subcommand_options(name))
        assert not unknown, f"{script.relative_to(ROOT)}: `vla {name}` has no option {unknown}"
