"""Family `pick`: pick up the <colour> cube, with the other cubes on the table as distractors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scene import CUBE_HALF
from sim.tasks.base import Layout, Occupancy, SceneState, Task, place_cubes

LIFT_HEIGHT_M = 0.04  # the cube's bottom face must be this far above the table

TRAIN_TEMPLATES = (
    "pick up the {cube} cube",
    "grab the {cube} cube and lift it",
    "lift the {cube} block off the table",
)
HELDOUT_TEMPLATES = (
    "raise the {cube} cube into the air",
    "take hold of the {cube} block and pick it up",
)


@dataclass(frozen=True)
class PickTask(Task):
    """Success: the named cube is held by both jaws with its bottom `LIFT_HEIGHT_M` above the table."""

    @classmethod
    def create(cls, cube: str) -> PickTask:
        return cls(
            name=f"pick_{cube}_cube",
            family="pick",
            slots={"cube": cube},
            train_templates=TRAIN_TEMPLATES,
            heldout_templates=HELDOUT_TEMPLATES,
            time_limit_s=8.0,
        )

    def draw_layout(self, rng: np.random.Generator, cube_colours: tuple[str, ...]) -> Layout:
        return Layout(cubes=place_cubes(rng, list(cube_colours), Occupancy()))

    def is_success(self, state: SceneState) -> bool:
        cube = self.slots["cube"]
        lifted = state.cube_pos[cube][2] - CUBE_HALF > LIFT_HEIGHT_M
        return bool(lifted and state.cube_grasped.get(cube, False))

    def stage_names(self) -> tuple[str, ...]:
        return ("start", "grasped", "success")

    def progress(self, state: SceneState) -> int:
        return 2 if self.is_success(state) else int(state.cube_grasped.get(self.slots["cube"], False))
