"""Family `place`: put the <colour> cube in the <colour> bowl, with a second cube and bowl as distractors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scene import BOWL_COLOURS, BOWL_RADIUS, CUBE_HALF
from sim.tasks.base import (
    BOWL_DISC_RADIUS_M,
    CARRY_STAGES,
    Layout,
    Occupancy,
    SceneState,
    Task,
    bowl_region,
    carry_progress,
    place_cubes,
    sample_free_spot,
)

TRAIN_TEMPLATES = (
    "put the {cube} cube in the {bowl} bowl",
    "place the {cube} block into the {bowl} bowl",
    "move the {cube} cube into the {bowl} bowl",
)
HELDOUT_TEMPLATES = (
    "drop the {cube} cube inside the {bowl} bowl",
    "the {cube} block belongs in the {bowl} bowl, put it there",
)


@dataclass(frozen=True)
class PlaceTask(Task):
    """Success: the cube rests inside the named bowl (centre within its walls, low) and is released."""

    @classmethod
    def create(cls, cube: str, bowl: str) -> PlaceTask:
        return cls(
            name=f"place_{cube}_cube_in_{bowl}_bowl",
            family="place",
            slots={"cube": cube, "bowl": bowl},
            train_templates=TRAIN_TEMPLATES,
            heldout_templates=HELDOUT_TEMPLATES,
            time_limit_s=12.0,
        )

    def draw_layout(self, rng: np.random.Generator, cube_colours: tuple[str, ...]) -> Layout:
        occupancy = Occupancy()
        bowls = {}
        for bowl in BOWL_COLOURS:  # both bowls on the table: one target, one distractor
            xy = sample_free_spot(rng, occupancy, BOWL_DISC_RADIUS_M, f"the {bowl} bowl", region=bowl_region)
            bowls[bowl] = (float(xy[0]), float(xy[1]))
        others = [c for c in cube_colours if c != self.slots["cube"]]
        distractor = others[int(rng.integers(len(others)))]
        cubes = place_cubes(rng, [self.slots["cube"], distractor], occupancy)
        return Layout(cubes=cubes, bowls=bowls)

    def is_success(self, state: SceneState) -> bool:
        cube = self.slots["cube"]
        offset = self._offset(state)
        resting = offset[2] < CUBE_HALF + 0.015
        return bool(self._inside(offset) and resting and not state.cube_touching_gripper.get(cube, False))

    def stage_names(self) -> tuple[str, ...]:
        return (*CARRY_STAGES[:3], "over the bowl", CARRY_STAGES[4])

    def progress(self, state: SceneState) -> int:
        return carry_progress(self, state, self.slots["cube"], self._inside(self._offset(state)))

    def _offset(self, state: SceneState) -> np.ndarray:
        """The cube's centre minus the bowl's (m, (3,); the bowl's z is its floor)."""
        return state.cube_pos[self.slots["cube"]] - state.bowl_pos[self.slots["bowl"]]

    @staticmethod
    def _inside(offset: np.ndarray) -> bool:
        """The cube's centre within the bowl's rim, less a quarter cube (at any height)."""
        return bool(np.linalg.norm(offset[:2]) < BOWL_RADIUS - CUBE_HALF * 0.5)
