"""Absent-object episodes: the instruction names an object the scene does not hold; touch nothing.

`AbsentTask` wraps a composed task (`absent_pick_orange_cube` wraps `pick_orange_cube`) and shows its
instruction in a scene from which one named object is missing: the cube to act on, or for `place` and
`stack` either that cube or its destination (the bowl, the base cube), chosen per episode. The rest of the
scene follows the usual rules (sim/tasks/contents.py), so the other named object may well be there.

Success: for the whole time limit no object moved more than `MOVE_TOLERANCE_M` from where it started and
the jaws never closed on a cube (both touching it at once). The episode ends, failed, as soon as either
happens. The scripted expert demonstrates it by holding still (sim/expert.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.tasks.base import SceneState, Task
from sim.tasks.contents import BOWLS_PER_SCENE, Contents, draw_contents

ABSENT_PREFIX = "absent_"
MOVE_TOLERANCE_M = 0.01
CLOCK_SLACK_S = 1e-6  # elapsed time is steps / control rate: a float sum that may fall short by ulps


@dataclass(frozen=True)
class AbsentTask(Task):
    """`inner`'s instruction with one of its objects missing; success: nothing touched (module docstring)."""

    inner: Task | None = None

    @classmethod
    def create(cls, inner: Task) -> AbsentTask:
        if isinstance(inner, AbsentTask):
            raise ValueError(f"{inner.name} is already an absent-object task")
        return cls(
            name=ABSENT_PREFIX + inner.name,
            family=inner.family,
            slots=dict(inner.slots),
            train_templates=inner.train_templates,
            heldout_templates=inner.heldout_templates,
            time_limit_s=inner.time_limit_s,
            inner=inner,
        )

    def missing_choices(self) -> tuple[str, ...]:
        """The slots whose object an episode may leave out: the cube, or for place/stack its destination."""
        return tuple(k for k in ("cube", "bowl", "base") if k in self.slots)

    def draw_contents(self, rng: np.random.Generator, cube_palette, bowl_palette) -> Contents:
        """A scene without one named object (drawn among `missing_choices`), the others present."""
        choices = self.missing_choices()
        missing = choices[int(rng.integers(len(choices)))]
        cubes = tuple(c for k, c in self.slots.items() if k in ("cube", "base") and k != missing)
        bowls = tuple(c for k, c in self.slots.items() if k == "bowl" and k != missing)
        bowl_range = (
            (max(1, BOWLS_PER_SCENE[0]), BOWLS_PER_SCENE[1]) if "bowl" in self.slots else BOWLS_PER_SCENE
        )
        return draw_contents(
            rng,
            cube_palette,
            bowl_palette,
            cubes,
            bowls,
            bowl_range=bowl_range,
            exclude_cubes=(self.slots[missing],) if missing != "bowl" else (),
            exclude_bowls=(self.slots[missing],) if missing == "bowl" else (),
        )

    def touched(self, state: SceneState) -> bool:
        return state.closed_on_object or state.max_displacement_m > MOVE_TOLERANCE_M

    def is_success(self, state: SceneState) -> bool:
        return not self.touched(state) and state.elapsed_s >= self.time_limit_s - CLOCK_SLACK_S

    def has_failed(self, state: SceneState) -> bool:
        return self.touched(state)

    def stage_names(self) -> tuple[str, ...]:
        """ "start" until the time limit passes untouched ("success"); a touch ends the episode at "start"."""
        return ("start", "success")


class TouchMonitor:
    """Follows an episode's objects: how far any moved from its start, whether the jaws closed on a cube.

    `start(state)` at reset; `observe(state)` after each step fills the state's `max_displacement_m` and
    `closed_on_object` with the episode's running values (in place) and returns it."""

    def __init__(self) -> None:
        self._start: dict[str, np.ndarray] = {}
        self.max_displacement_m = 0.0
        self.closed_on_object = False

    def start(self, state: SceneState) -> None:
        # Parked cubes (far below the table) are not in the scene: they are not watched.
        self._start = {c: p.copy() for c, p in state.cube_pos.items() if p[2] > -0.1}
        self.max_displacement_m, self.closed_on_object = 0.0, False

    def observe(self, state: SceneState) -> SceneState:
        for colour, start in self._start.items():
            moved = float(np.linalg.norm(state.cube_pos[colour] - start))
            self.max_displacement_m = max(self.max_displacement_m, moved)
        self.closed_on_object = self.closed_on_object or any(state.cube_grasped.values())
        state.max_displacement_m, state.closed_on_object = self.max_displacement_m, self.closed_on_object
        return state
