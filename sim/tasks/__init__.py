"""Task suites (sim/tasks/suites.py) of composed tasks (sim/tasks/compose.py) in four families."""

from __future__ import annotations

from sim.tasks.absent import AbsentTask
from sim.tasks.base import Layout, SceneState, Task
from sim.tasks.compose import TaskNameError, all_compositions, compose, parse_task
from sim.tasks.pick import PickTask
from sim.tasks.place import PlaceTask
from sim.tasks.push import PushTask
from sim.tasks.stack import StackTask
from sim.tasks.suites import SPLITS, SUITE_SPECS, HeldOutError, Suite, get_suite

# Each suite's training split (for `tabletop`, its eight tasks), by suite name.
SUITES: dict[str, tuple[Task, ...]] = {name: suite.tasks("train") for name, suite in SUITE_SPECS.items()}


def suite_tasks(suite: str, split: str = "train") -> tuple[Task, ...]:
    """The tasks of a named suite's split; unknown suites or splits fail listing the known ones."""
    return get_suite(suite).tasks(split)


def get_task(name: str, suite: str = "tabletop") -> Task:
    """Any task the suite's scene can hold, parsed from its name (`push_red_cube_left`); a name that does
    not parse or names what the scene cannot hold fails with one line listing what is allowed."""
    return get_suite(suite).task(name)


__all__ = [
    "SPLITS",
    "SUITES",
    "SUITE_SPECS",
    "AbsentTask",
    "HeldOutError",
    "Layout",
    "PickTask",
    "PlaceTask",
    "PushTask",
    "SceneState",
    "StackTask",
    "Suite",
    "Task",
    "TaskNameError",
    "all_compositions",
    "compose",
    "get_suite",
    "get_task",
    "parse_task",
    "suite_tasks",
]
