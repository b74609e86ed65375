"""Tasks as compositions: a family and its slots, built in code or parsed from a name.

| family | name                              | slots                    |
|--------|-----------------------------------|--------------------------|
| pick   | `pick_<cube>_cube`                | cube                     |
| place  | `place_<cube>_cube_in_<bowl>_bowl` | cube, bowl               |
| push   | `push_<cube>_cube_<side>`         | cube, side (left, right) |
| push_away | `push_<cube>_cube_away`        | cube                     |
| stack  | `stack_<cube>_cube_on_<base>_cube` | cube, base (another cube) |

`absent_<name>` is the same instruction in a scene without one of its objects (sim/tasks/absent.py).
Which colours are allowed depends on the scene a suite builds (sim/tasks/suites.py): a name that does not
parse, or that names a colour the scene cannot hold, fails with one line listing what is allowed.
"""

from __future__ import annotations

import re

from sim.tasks.absent import ABSENT_PREFIX, AbsentTask
from sim.tasks.base import Task
from sim.tasks.pick import PickTask
from sim.tasks.place import PlaceTask
from sim.tasks.push import SIDE_SIGN, PushAwayTask, PushTask
from sim.tasks.stack import StackTask

SIDES: tuple[str, ...] = tuple(SIDE_SIGN)
PATTERNS: dict[str, re.Pattern] = {
    "pick": re.compile(r"pick_(?P<cube>[a-z]+)_cube"),
    "place": re.compile(r"place_(?P<cube>[a-z]+)_cube_in_(?P<bowl>[a-z]+)_bowl"),
    "push_away": re.compile(r"push_(?P<cube>[a-z]+)_cube_away"),  # before `push`: "away" is no side
    "push": re.compile(r"push_(?P<cube>[a-z]+)_cube_(?P<side>[a-z]+)"),
    "stack": re.compile(r"stack_(?P<cube>[a-z]+)_cube_on_(?P<base>[a-z]+)_cube"),
}
FAMILIES: tuple[str, ...] = tuple(PATTERNS)
# The families tabletop_compose composes its 66 tasks from (sim/tasks/suites.py); push_away, the skill
# issue 38 fine-tunes on, has a suite of its own.
COMPOSED_FAMILIES: tuple[str, ...] = ("pick", "place", "push", "stack")


class TaskNameError(ValueError):
    """A task name that does not parse or names something the scene cannot hold."""


def compose(family: str, **slots: str) -> Task:
    """The task of `family` with `slots` (e.g. compose("push", cube="red", side="left")), not checked
    against any scene's colours (see `parse_task`)."""
    if family == "pick":
        return PickTask.create(slots["cube"])
    if family == "place":
        return PlaceTask.create(slots["cube"], slots["bowl"])
    if family == "push":
        return PushTask.create(slots["cube"], slots["side"])
    if family == "push_away":
        return PushAwayTask.create(slots["cube"])
    if family == "stack":
        return StackTask.create(slots["cube"], slots["base"])
    raise TaskNameError(f"unknown task family {family!r}; families: {', '.join(FAMILIES)}")


def allowed(cubes: tuple[str, ...], bowls: tuple[str, ...], absent: bool = True) -> str:
    """One line: the families with their name patterns, and the slot values this scene allows."""
    patterns = ["pick_<cube>_cube", "place_<cube>_cube_in_<bowl>_bowl", "push_<cube>_cube_<side>"]
    patterns += ["push_<cube>_cube_away"]
    patterns += ["stack_<cube>_cube_on_<base>_cube"] + ([f"{ABSENT_PREFIX}<task>"] if absent else [])
    names = "; ".join(patterns)
    return f"tasks: {names}; cube: {', '.join(cubes)}; bowl: {', '.join(bowls)}; side: {', '.join(SIDES)}"


def parse_task(name: str, cubes: tuple[str, ...], bowls: tuple[str, ...], absent: bool = True) -> Task:
    """The task a name composes, for a scene that can hold cubes of colours `cubes` and bowls `bowls`.

    TaskNameError (one line, listing what is allowed) when it does not parse, names an unknown colour or
    side, stacks a cube on itself, or is an `absent_` task where `absent` is False."""
    if name.startswith(ABSENT_PREFIX):
        if not absent:
            raise TaskNameError(
                f"task {name!r}: this suite's scenes always hold every object, so absent-object tasks "
                "need a suite whose contents vary (tabletop_compose)"
            )
        inner = name[len(ABSENT_PREFIX) :]
        if inner.startswith(ABSENT_PREFIX):
            raise TaskNameError(f"task {name!r} does not parse: {ABSENT_PREFIX} wraps one composition")
        return AbsentTask.create(parse_task(inner, cubes, bowls, absent))
    for family, pattern in PATTERNS.items():
        match = pattern.fullmatch(name)
        if match is None:
            continue
        slots = match.groupdict()
        problems = [
            f"cube colour {v!r}" for k, v in slots.items() if k in ("cube", "base") and v not in cubes
        ]
        problems += [f"bowl colour {slots['bowl']!r}"] if slots.get("bowl", bowls[0]) not in bowls else []
        problems += [f"side {slots['side']!r}"] if slots.get("side", SIDES[0]) not in SIDES else []
        if slots.get("base") is not None and slots["base"] == slots["cube"]:
            problems.append("a cube stacked on itself")
        if problems:
            raise TaskNameError(
                f"task {name!r} names {' and '.join(problems)}, which this scene cannot hold; "
                + allowed(cubes, bowls, absent)
            )
        return compose(family, **slots)
    raise TaskNameError(f"task {name!r} does not parse; {allowed(cubes, bowls, absent)}")


def all_compositions(
    cubes: tuple[str, ...], bowls: tuple[str, ...], families: tuple[str, ...] = FAMILIES
) -> tuple[Task, ...]:
    """Every task of `families` the scene allows, by family (in `FAMILIES` order), in palette order."""
    slots = {
        "pick": [{"cube": c} for c in cubes],
        "place": [{"cube": c, "bowl": b} for c in cubes for b in bowls],
        "push_away": [{"cube": c} for c in cubes],
        "push": [{"cube": c, "side": s} for c in cubes for s in SIDES],
        "stack": [{"cube": c, "base": b} for c in cubes for b in cubes if b != c],
    }
    return tuple(
        compose(family, **each) for family in FAMILIES if family in families for each in slots[family]
    )
