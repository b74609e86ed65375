"""Family `stack`: stack the <colour> cube on the <colour> cube, other cubes present as distractors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scene import CUBE_HALF
from sim.tasks.base import CARRY_STAGES, Layout, Occupancy, SceneState, Task, carry_progress, place_cubes

TRAIN_TEMPLATES = (
    "stack the {cube} cube on the {base} cube",
    "put the {cube} block on top of the {base} block",
    "place the {cube} cube onto the {base} cube",
)
HELDOUT_TEMPLATES = (
    "set the {cube} cube on top of the {base} one",
    "build a tower with the {cube} cube above the {base} cube",
)
XY_TOLERANCE_M = 0.015  # top cube centre within this of the base cube centre (cube edge is 3 cm)
HEIGHT_TOLERANCE_M = 0.006  # top cube centre within this of one cube above the base's


@dataclass(frozen=True)
class StackTask(Task):
    """Success: the top cube rests on the base cube (aligned, one cube higher), released, base on table."""

    @classmethod
    def create(cls, cube: str, base: str) -> StackTask:
        if cube == base:
            raise ValueError(f"cannot stack the {cube} cube on itself")
        return cls(
            name=f"stack_{cube}_cube_on_{base}_cube",
            family="stack",
            slots={"cube": cube, "base": base},
            train_templates=TRAIN_TEMPLATES,
            heldout_templates=HELDOUT_TEMPLATES,
            time_limit_s=12.0,
        )

    def draw_layout(self, rng: np.random.Generator, cube_colours: tuple[str, ...]) -> Layout:
        return Layout(cubes=place_cubes(rng, list(cube_colours), Occupancy()))

    def is_success(self, state: SceneState) -> bool:
        top, base = self.slots["cube"], self.slots["base"]
        offset = self._offset(state)
        on_top = abs(offset[2] - 2 * CUBE_HALF) < HEIGHT_TOLERANCE_M
        released = not state.cube_touching_gripper.get(top, False)
        return bool(self._aligned(offset) and on_top and released and state.on_table(base))

    def stage_names(self) -> tuple[str, ...]:
        return (*CARRY_STAGES[:3], "over the base", CARRY_STAGES[4])

    def progress(self, state: SceneState) -> int:
        offset = self._offset(state)
        over = self._aligned(offset) and offset[2] > 2 * CUBE_HALF - HEIGHT_TOLERANCE_M
        return carry_progress(self, state, self.slots["cube"], over)

    def _offset(self, state: SceneState) -> np.ndarray:
        """The top cube's centre minus the base cube's (m, (3,))."""
        return state.cube_pos[self.slots["cube"]] - state.cube_pos[self.slots["base"]]

    @staticmethod
    def _aligned(offset: np.ndarray) -> bool:
        return bool(np.linalg.norm(offset[:2]) < XY_TOLERANCE_M)
