"""Families `push` and `push_away`: slide a cube across the table without lifting it.

- `push`: push the <colour> cube to the left or right side. Sides are the robot's own: left is world +y
  (the robot looks along +x).
- `push_away`: push the <colour> cube away from the robot, out along +x. The arm's shoulder lift and
  elbow move the jaws along the line from the base, where a side push turns the shoulder pan: a motion
  the `tabletop` tasks never show (issue 38's new skill).

Where a push goes is its `side` slot ("left", "right" or "away"): a place, not an object, so it is the
environment state's `task_destination` (`side_destination`) as a bowl would be.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.tasks.base import (
    BOWL_DISC_RADIUS_M,
    CUBE_SPACING_M,
    Layout,
    Occupancy,
    SceneState,
    Task,
    bowl_region,
    place_cubes,
    random_yaw,
    sample_free_spot,
)

SIDE_LINE_M = 0.10  # success once the cube centre is this far from the centre line (|y|)
START_BOX = ((0.17, 0.23), (-0.03, 0.03))  # x range, y range of the pushed cube's start (m)
SIDE_SIGN = {"left": 1.0, "right": -1.0}
SIDE_END_M = SIDE_LINE_M + 0.045  # |y| of the cube centre at the end of the expert's push (m)
AWAY = "away"
AWAY_LINE_M = 0.25  # push_away: success once the cube centre is this far out from the base (world x)
AWAY_START_BOX = ((0.15, 0.18), (-0.05, 0.05))  # x range, y range of the pushed cube's start (m)
AWAY_END_M = AWAY_LINE_M + 0.035  # x of the cube centre at the end of the expert's push away (m)
PUSH_BEHIND_M = 0.05  # the jaws come down this far behind the cube's centre, on the side away from the goal


def side_destination(side: str) -> tuple[float, float, float]:
    """Where a push towards `side` takes the cube (world x, y, z in m; z 0, as a bowl's). Left or right:
    the middle of the start box's x range, `SIDE_END_M` out on that side; away: `AWAY_END_M` out on the
    centre line. The environment state's `task_destination` for a push, so the instruction's side is a
    destination like a bowl (vla/models/task_choice.py)."""
    if side == AWAY:
        return (AWAY_END_M, 0.0, 0.0)
    return (float(np.mean(START_BOX[0])), SIDE_SIGN[side] * SIDE_END_M, 0.0)


TRAIN_TEMPLATES = (
    "push the {cube} cube to the {side} side",
    "slide the {cube} block to the {side}",
    "shove the {cube} cube over to the {side}",
)
HELDOUT_TEMPLATES = (
    "nudge the {cube} cube towards the {side}",
    "without lifting it, move the {cube} block to the {side}",
)
AWAY_TRAIN_TEMPLATES = (
    "push the {cube} cube away from you",
    "slide the {cube} block away from the robot",
    "shove the {cube} cube forward, away from the arm",
)
AWAY_HELDOUT_TEMPLATES = (
    "nudge the {cube} cube further away",
    "without lifting it, move the {cube} block away from the base",
)


def in_push_lane(start_xy: np.ndarray, xy: np.ndarray, sign: float) -> bool:
    """Whether a cube centred at `xy` blocks a push from `start_xy` towards side `sign` (+1 left).

    The gripper starts 5 cm behind the cube and sweeps past the side line; the lane's half-width is half
    the pushed cube, half a cube beside it and 2.5 cm of slack.
    """
    along = sign * (xy[1] - start_xy[1])
    return bool(abs(xy[0] - start_xy[0]) < 0.055 and along > -0.09)


def in_away_lane(start_xy: np.ndarray, xy: np.ndarray) -> bool:
    """Whether a cube centred at `xy` blocks a push away from `start_xy` (`in_push_lane` turned to +x)."""
    return bool(abs(xy[1] - start_xy[1]) < 0.055 and xy[0] - start_xy[0] > -0.09)


def bowl_blocks_away(start_xy: np.ndarray, xy: np.ndarray) -> bool:
    """Whether a bowl centred at `xy` is in the way of a push away from `start_xy` (`bowl_blocks_push`
    turned to +x)."""
    return bool(abs(xy[1] - start_xy[1]) < 0.11 and xy[0] - start_xy[0] > -0.15)


def bowl_blocks_push(start_xy: np.ndarray, xy: np.ndarray, sign: float) -> bool:
    """Whether a bowl centred at `xy` is in the way of a push from `start_xy` towards side `sign`: within
    11 cm of the lane's centre line (the bowl's 6.1 cm outer radius, the jaws' 3 cm half-width and 2 cm of
    slack), anywhere from 15 cm behind the cube (the jaws come down 5 cm behind it) onwards."""
    along = sign * (xy[1] - start_xy[1])
    return bool(abs(xy[0] - start_xy[0]) < 0.11 and along > -0.15)


def pushed_layout(
    rng: np.random.Generator,
    cube: str,
    cubes: list[str],
    bowls: list[str],
    start_box: tuple[tuple[float, float], tuple[float, float]],
    cube_blocks: Callable[[np.ndarray, np.ndarray], bool],
    bowl_blocks: Callable[[np.ndarray, np.ndarray], bool],
) -> Layout:
    """A push's layout: `cube` drawn in `start_box` (x range, y range, m), then each of `bowls` and the
    other `cubes` where `bowl_blocks(start, xy)` / `cube_blocks(start, xy)` say they leave the push free.
    PlacementError when out of room."""
    start = np.array([rng.uniform(*start_box[0]), rng.uniform(*start_box[1])])
    occupancy = Occupancy()
    occupancy.add(start, CUBE_SPACING_M / 2)
    placed = {}
    for bowl in bowls:
        xy = sample_free_spot(
            rng,
            occupancy,
            BOWL_DISC_RADIUS_M,
            f"the {bowl} bowl",
            keep_out=lambda xy: bowl_blocks(start, xy),
            region=bowl_region,
        )
        placed[bowl] = (float(xy[0]), float(xy[1]))
    layout = {cube: (float(start[0]), float(start[1]), random_yaw(rng))}
    others = [c for c in cubes if c != cube]
    layout.update(place_cubes(rng, others, occupancy, keep_out=lambda xy: cube_blocks(start, xy)))
    return Layout(cubes=layout, bowls=placed)


@dataclass(frozen=True)
class PushTask(Task):
    """Success: the cube's centre is past the side line on the named side, and it stayed on the table."""

    @classmethod
    def create(cls, cube: str, side: str) -> PushTask:
        if side not in SIDE_SIGN:
            raise ValueError(f"side must be one of {list(SIDE_SIGN)}, got {side!r}")
        return cls(
            name=f"push_{cube}_cube_{side}",
            family="push",
            slots={"cube": cube, "side": side},
            train_templates=TRAIN_TEMPLATES,
            heldout_templates=HELDOUT_TEMPLATES,
            time_limit_s=10.0,
        )

    @property
    def sign(self) -> float:
        return SIDE_SIGN[self.slots["side"]]

    def draw_layout(self, rng: np.random.Generator, cube_colours: tuple[str, ...]) -> Layout:
        return self.place_varied(rng, list(cube_colours), [])

    def place_varied(self, rng: np.random.Generator, cubes: list[str], bowls: list[str]) -> Layout:
        """A varied scene (sim/tasks/contents.py): the pushed cube in the start box, bowls behind the push,
        the other cubes out of its lane."""
        return pushed_layout(
            rng,
            self.slots["cube"],
            cubes,
            bowls,
            START_BOX,
            lambda start, xy: in_push_lane(start, xy, self.sign),
            lambda start, xy: bowl_blocks_push(start, xy, self.sign),
        )

    def is_success(self, state: SceneState) -> bool:
        cube = self.slots["cube"]
        past_line = self.sign * state.cube_pos[cube][1] > SIDE_LINE_M
        return bool(past_line and state.on_table(cube) and not state.cube_grasped.get(cube, False))


@dataclass(frozen=True)
class PushAwayTask(Task):
    """Success: the cube's centre is out past `AWAY_LINE_M` (world x), on the table and not held."""

    @classmethod
    def create(cls, cube: str) -> PushAwayTask:
        return cls(
            name=f"push_{cube}_cube_away",
            family="push_away",
            slots={"cube": cube, "side": AWAY},
            train_templates=AWAY_TRAIN_TEMPLATES,
            heldout_templates=AWAY_HELDOUT_TEMPLATES,
            time_limit_s=10.0,
        )

    def draw_layout(self, rng: np.random.Generator, cube_colours: tuple[str, ...]) -> Layout:
        return self.place_varied(rng, list(cube_colours), [])

    def place_varied(self, rng: np.random.Generator, cubes: list[str], bowls: list[str]) -> Layout:
        """The pushed cube in the start box; bowls and the other cubes out of its lane."""
        return pushed_layout(
            rng, self.slots["cube"], cubes, bowls, AWAY_START_BOX, in_away_lane, bowl_blocks_away
        )

    def is_success(self, state: SceneState) -> bool:
        cube = self.slots["cube"]
        past_line = state.cube_pos[cube][0] > AWAY_LINE_M
        return bool(past_line and state.on_table(cube) and not state.cube_grasped.get(cube, False))
