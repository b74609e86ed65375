"""Task suites. A suite is an ordered list of tasks; `tabletop` covers four families."""

from __future__ import annotations

from sim.tasks.base import Layout, SceneState, Task
from sim.tasks.pick import PickTask
from sim.tasks.place import PlaceTask
from sim.tasks.push import PushTask
from sim.tasks.stack import StackTask

SUITES: dict[str, tuple[Task, ...]] = {
    "tabletop": (
        PickTask.create("red"),
        PickTask.create("green"),
        PlaceTask.create("red", "white"),
        PlaceTask.create("blue", "purple"),
        PushTask.create("yellow", "left"),
        PushTask.create("green", "right"),
        StackTask.create("blue", "red"),
        StackTask.create("yellow", "green"),
    ),
}


def suite_tasks(suite: str) -> tuple[Task, ...]:
    """The tasks of a named suite; unknown names fail with the list of known suites."""
    if suite not in SUITES:
        raise KeyError(f"unknown suite {suite!r}; known suites: {', '.join(SUITES)}")
    return SUITES[suite]


def get_task(name: str, suite: str = "tabletop") -> Task:
    """Look a task up by name; unknown names fail with the list of known tasks."""
    tasks = {task.name: task for task in suite_tasks(suite)}
    if name not in tasks:
        raise KeyError(f"unknown task {name!r} in suite {suite!r}; known tasks: {', '.join(tasks)}")
    return tasks[name]


__all__ = [
    "SUITES",
    "Layout",
    "PickTask",
    "PlaceTask",
    "PushTask",
    "SceneState",
    "StackTask",
    "Task",
    "get_task",
    "suite_tasks",
]
