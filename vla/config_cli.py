"""A command line generated from a tree of frozen dataclasses: `--group.field VALUE` for every leaf field.

One config type is the single place an option is declared (name, type, default, one-line help in the
field's `metadata["help"]`); the CLI, the `--config` file and the copy saved beside each checkpoint all
come from it, so nothing is copied by hand. Values are layered: the type's defaults, then a named preset,
then a JSON or YAML file (`--config`, e.g. a checkpoint's `train_config.json`), then the options given.

    --optim.lr 5e-4    --data.dataset datasets/x    --objects.token    --objects.token false

A bool given without a value is true. `none` clears an optional value. An unknown option is refused with
the closest known names; a value of the wrong type names the option and the type it wants.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def option(default: Any, help: str, **metadata: Any) -> Any:
    """A dataclass field with its one-line help (and `choices`, when its values are a fixed set)."""
    return dataclasses.field(default=default, metadata={"help": help, **metadata})


def group(factory: Callable[[], Any], help: str) -> Any:
    """A nested config group, e.g. `optim`."""
    return dataclasses.field(default_factory=factory, metadata={"help": help})


def leaves(cls: type, prefix: str = "") -> list[tuple[str, dataclasses.Field, Any]]:
    """(dotted name, field, resolved type) of every non-dataclass field under `cls`, in declaration order."""
    hints = typing.get_type_hints(cls)
    found = []
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        if dataclasses.is_dataclass(kind):
            found += leaves(kind, f"{prefix}{field.name}.")
        else:
            found.append((prefix + field.name, field, kind))
    return found


def parse(cls: type, argv: list[str], presets: dict[str, Any]) -> Any:
    """`cls` from `argv`: `[--preset NAME] [--config FILE] [--group.name VALUE ...]`, layered over the
    defaults in that order (module docstring)."""
    values = defaults(cls)
    argv = list(argv)
    for flag in ("--preset", "--config"):
        given = [i for i, token in enumerate(argv) if token == flag or token.startswith(flag + "=")]
        if len(given) > 1:
            raise ValueError(f"{flag} is given {len(given)} times")
        if not given:
            continue
        i = given[0]
        _, _, value = argv[i].partition("=")
        if not value:
            if i + 1 >= len(argv):
                raise ValueError(f"{flag} needs a value")
            value = argv.pop(i + 1)
        argv.pop(i)
        if flag == "--preset":
            if value not in presets:
                raise KeyError(f"--preset {value}: no such preset; the presets are {', '.join(presets)}")
            values = merged(values, to_dict(presets[value]))
        else:
            from_file = read_file(Path(value))  # its own errors name the file
            try:
                values = merged(values, from_file)
            except ValueError as error:
                raise ValueError(f"--config {value}: {error}") from None
    # the preset, then the file, then the options: the file is read before the options are applied
    return build(cls, merged(values, parse_options(cls, argv)))


def defaults(cls: type) -> dict:
    """The type's own defaults as a nested dict (without building it: a required option may be unset)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        kind = hints[field.name]
        values[field.name] = defaults(kind) if dataclasses.is_dataclass(kind) else field.default
    return values


def to_dict(config: Any) -> dict:
    """The config as plain JSON values (paths as strings), nested as the tree is."""

    def plain(value):
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return str(value) if isinstance(value, Path) else value

    return plain(config)


def read_file(path: Path) -> dict:
    """A JSON or YAML config file as a nested dict; a missing or malformed file names itself."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--config {path}: no such file")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # json.JSONDecodeError, yaml.YAMLError
        raise ValueError(
            f"--config {path}: not valid {path.suffix[1:].upper() or 'JSON'} ({error})"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: expected a mapping of groups to options")
    return data


def merged(base: dict, update: dict, where: str = "") -> dict:  # where: the dotted group, e.g. "optim."
    """`base` with `update`'s values, group by group; a key `base` lacks is refused, naming it."""
    out = dict(base)
    for key, value in update.items():
        if key not in base:
            raise ValueError(f"unknown option {where}{key}")
        out[key] = merged(base[key], value, f"{where}{key}.") if isinstance(base[key], dict) else value
    return out


def build(cls: type, values: dict, where: str = "") -> Any:
    """`cls` from a nested dict of plain values, each converted to its field's type."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            continue
        kind, value = hints[field.name], values[field.name]
        name = f"{where}{field.name}"
        kwargs[field.name] = (
            build(kind, value, f"{name}.")
            if dataclasses.is_dataclass(kind)
            else convert(name, kind, value, field.metadata.get("choices"))
        )
    return cls(**kwargs)


def convert(name: str, kind: Any, value: Any, choices: tuple | None = None) -> Any:
    """`value` (a string from the command line, or a JSON/YAML value) as `kind`."""
    optional = _optional(kind)
    if optional is not None:
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        kind = optional
    try:
        if kind is bool:
            converted = _bool(value)
        elif kind is Path:
            converted = Path(value)
        elif kind in (int, float, str):
            converted = kind(value)
            if kind is int and isinstance(value, float) and value != converted:
                raise ValueError
        else:
            raise TypeError(f"--{name}: options of type {kind} are not supported")
    except (TypeError, ValueError):
        raise ValueError(f"--{name} wants {_type_name(kind)}, got {value!r}") from None
    if choices and converted not in choices:
        raise ValueError(f"--{name} is one of {', '.join(map(str, choices))}; got {converted!r}")
    return converted


def parse_options(cls: type, argv: list[str]) -> dict:
    """`--a.b VALUE` / `--a.b=VALUE` pairs as a nested dict of strings (bools may stand alone)."""
    known = {name: kind for name, _, kind in leaves(cls)}
    values: dict = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        if not token.startswith("--"):
            raise ValueError(f"{token!r}: options are written --group.name VALUE")
        name, has_value, value = token[2:].partition("=")
        if name not in known:
            raise ValueError(f"unknown option --{name}; {_suggestion(name, known)}")
        if not has_value:
            following = argv[i + 1] if i + 1 < len(argv) else None
            if known[name] is bool and (following is None or following.lower() not in TRUE + FALSE):
                value = "true"
            elif following is None:
                raise ValueError(f"--{name} needs a value")
            else:
                value, i = following, i + 1
        node = values
        *groups, leaf = name.split(".")
        for part in groups:
            node = node.setdefault(part, {})
        node[leaf] = value
        i += 1
    return values


def _suggestion(name: str, known: dict) -> str:
    """The closest option names, or the options of the group `name` is in."""
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        return f"did you mean {' or '.join('--' + c for c in close)}?"
    head = name.rpartition(".")[0]
    siblings = [other.rpartition(".")[2] for other in known if other.rpartition(".")[0] == head]
    if head and siblings:
        return f"--{head}. takes {', '.join(siblings)}"
    return "--help lists the options"


def help_lines(cls: type) -> list[str]:
    """One line per option, grouped under each group's help: `--optim.lr FLOAT  peak learning rate (3e-4)`."""
    lines, current = [], None
    width = max(len(name) + len(_type_name(kind)) for name, _, kind in leaves(cls)) + 5
    for name, field, kind in leaves(cls):
        head = name.rpartition(".")[0]
        if head != current:
            current = head
            lines.append(f"{head or 'run'}: {_group_help(cls, head)}")
        flag = f"  --{name} {_type_name(kind)}".ljust(width)
        choices = field.metadata.get("choices")
        shown = f"({_default_text(field)}" + (f"; {'|'.join(choices)})" if choices else ")")
        if field.default is None and "required" in field.metadata.get("help", ""):
            shown = ""
        lines.append(f"{flag} {field.metadata.get('help', '')} {shown}".rstrip())
    return lines


def _group_help(cls: type, dotted: str) -> str:
    """The help of group `dotted` (e.g. "data.stream"); the top level's is the first line of its docstring."""
    if not dotted:
        return (cls.__doc__ or "").strip().splitlines()[0]
    for part in dotted.split("."):
        field = next(f for f in dataclasses.fields(cls) if f.name == part)
        cls = typing.get_type_hints(cls)[part]
    return field.metadata.get("help", "")


def _default_text(field: dataclasses.Field) -> str:
    value = field.default
    if isinstance(value, bool):
        return "on" if value else "off"
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in TRUE + FALSE:
        return text in TRUE
    raise ValueError


def _optional(kind: Any) -> Any | None:
    """X for `X | None`, else None."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        rest = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if len(rest) == 1 and len(typing.get_args(kind)) == 2:
            return rest[0]
    return None


def _type_name(kind: Any) -> str:
    optional = _optional(kind)
    inner = optional if optional is not None else kind
    return {bool: "BOOL", int: "INT", float: "FLOAT", str: "TEXT", Path: "PATH"}.get(inner, str(inner))
