"""What every tabletop task shares: the physics summary it judges, the layout it samples, its text.

A task is pure logic over `SceneState`, a small summary of the physics (object poses and which cubes
touch the gripper), so success predicates are unit-tested on hand-made states without MuJoCo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.scene import CUBE_HALF
from sim.tasks.contents import Contents, task_contents

# Reachable table region for a top-down grasp by the SO-101, in polar coordinates about the base
# (radius in m, azimuth in rad; azimuth 0 is straight ahead, positive to the robot's left).
REACH_RADIUS_M = (0.15, 0.25)
REACH_AZIMUTH_RAD = (-0.75, 0.75)
CUBE_SPACING_M = 0.065  # centre-to-centre, so the open jaws (~6 cm wide) never touch a neighbour
BOWL_CLEARANCE_M = 0.11  # bowl centre to any cube centre
BOWL_DISC_RADIUS_M = BOWL_CLEARANCE_M - CUBE_SPACING_M / 2


@dataclass
class SceneState:
    """Physics summary that predicates read. Positions are world xyz in metres, shape (3,)."""

    cube_pos: dict[str, np.ndarray]
    bowl_pos: dict[str, np.ndarray] = field(default_factory=dict)
    cube_touching_gripper: dict[str, bool] = field(default_factory=dict)
    cube_grasped: dict[str, bool] = field(default_factory=dict)  # touched by both jaws
    cube_yaw: dict[str, float] = field(default_factory=dict)  # rad about world z (stacks align to the base's)
    # The episode so far (TabletopEnv fills these each step; sim/tasks/absent.py judges by them):
    elapsed_s: float = 0.0  # control time since reset
    max_displacement_m: float = 0.0  # the farthest any object on the table has moved from where it started
    closed_on_object: bool = False  # whether both jaws have touched one cube at once at any step

    def on_table(self, colour: str, tol: float = 0.006) -> bool:
        return abs(self.cube_pos[colour][2] - CUBE_HALF) < tol


@dataclass(frozen=True)
class Layout:
    """Initial placement: cube colour -> (x, y, yaw rad); bowl colour -> (x, y). Absent = parked."""

    cubes: dict[str, tuple[float, float, float]]
    bowls: dict[str, tuple[float, float]] = field(default_factory=dict)


def polar_sample(rng: np.random.Generator, radius=REACH_RADIUS_M, azimuth=REACH_AZIMUTH_RAD) -> np.ndarray:
    """Uniform-area sample of an (x, y) point in an annulus sector about the robot base."""
    r = np.sqrt(rng.uniform(radius[0] ** 2, radius[1] ** 2))
    a = rng.uniform(*azimuth)
    return np.array([r * np.cos(a), r * np.sin(a)])


@dataclass
class Occupancy:
    """Discs already taken on the table: (centre xy (2,), radius m). Keeps objects apart."""

    discs: list[tuple[np.ndarray, float]] = field(default_factory=list)

    def is_free(self, xy: np.ndarray, radius: float) -> bool:
        return all(np.linalg.norm(xy - centre) >= radius + r for centre, r in self.discs)

    def add(self, xy: np.ndarray, radius: float) -> None:
        self.discs.append((np.asarray(xy, float)[:2], radius))


def sample_free_spot(
    rng: np.random.Generator,
    occupancy: Occupancy,
    radius: float,
    what: str,
    keep_out: Callable[[np.ndarray], bool] = lambda xy: False,
    region: Callable[[np.random.Generator], np.ndarray] = polar_sample,
    attempts: int = 300,
) -> np.ndarray:
    """Rejection-sample an (x, y) in `region` that is free and not in `keep_out`; mark it taken."""
    for _ in range(attempts):
        xy = region(rng)
        if not keep_out(xy) and occupancy.is_free(xy, radius):
            occupancy.add(xy, radius)
            return xy
    raise PlacementError(f"could not place {what} after {attempts} attempts")


def bowl_region(rng: np.random.Generator) -> np.ndarray:
    """Bowls may sit a little farther out than cubes: the cube is released from above the centre."""
    r = np.sqrt(rng.uniform(0.17**2, 0.26**2))
    a = rng.uniform(-0.85, 0.85)
    return np.array([r * np.cos(a), r * np.sin(a)])


class PlacementError(RuntimeError):
    """The objects placed so far leave no room for the next one; the whole layout is redrawn."""


def random_yaw(rng: np.random.Generator) -> float:
    """Cube yaw in rad; a cube is symmetric under 90 degree turns, so +-45 degrees covers all."""
    return float(rng.uniform(-np.pi / 4, np.pi / 4))


def place_cubes(
    rng: np.random.Generator,
    colours: list[str],
    occupancy: Occupancy,
    keep_out: Callable[[np.ndarray], bool] = lambda xy: False,
) -> dict[str, tuple[float, float, float]]:
    """Place each colour at a free reachable spot: colour -> (x, y, yaw)."""
    cubes = {}
    for colour in colours:
        xy = sample_free_spot(rng, occupancy, CUBE_SPACING_M / 2, f"the {colour} cube", keep_out)
        cubes[colour] = (float(xy[0]), float(xy[1]), random_yaw(rng))
    return cubes


@dataclass(frozen=True)
class Task:
    """One language-conditioned task. Subclasses define the layout and the success predicate.

    `train_templates` are the instructions shown during data collection; `heldout_templates` are
    paraphrases kept out of every training episode so evaluation can measure language generalisation.
    Templates use str.format fields named after the task's slots (`cube`, `bowl`, `side`, `base`).
    """

    name: str
    family: str
    slots: dict[str, str]
    train_templates: tuple[str, ...]
    heldout_templates: tuple[str, ...]
    time_limit_s: float

    def instruction(self, rng: np.random.Generator, split: str = "train") -> str:
        templates = self.templates(split)
        return templates[int(rng.integers(len(templates)))].format(**self.slots)

    def templates(self, split: str) -> tuple[str, ...]:
        if split == "train":
            return self.train_templates
        if split == "heldout":
            return self.heldout_templates
        raise ValueError(f"unknown instruction split {split!r}; expected 'train' or 'heldout'")

    def sample_layout(
        self, rng: np.random.Generator, cube_colours: tuple[str, ...], attempts: int = 50
    ) -> Layout:
        """A random initial layout; redrawn from scratch when an early choice leaves no room."""
        for _ in range(attempts):
            try:
                return self.draw_layout(rng, cube_colours)
            except PlacementError:
                continue
        raise PlacementError(f"{self.name}: no valid layout in {attempts} draws")

    def draw_layout(self, rng: np.random.Generator, cube_colours: tuple[str, ...]) -> Layout:
        """One attempt at a layout; raises PlacementError when it runs out of room."""
        raise NotImplementedError

    def named_cubes(self) -> tuple[str, ...]:
        """The cube colours the instruction names (the one acted on first)."""
        return tuple(self.slots[k] for k in ("cube", "base") if k in self.slots)

    def named_bowls(self) -> tuple[str, ...]:
        """The bowl colours the instruction names."""
        return (self.slots["bowl"],) if "bowl" in self.slots else ()

    def draw_contents(
        self, rng: np.random.Generator, cube_palette: tuple[str, ...], bowl_palette: tuple[str, ...]
    ) -> Contents:
        """Which colours a varied scene for this task holds (sim/tasks/contents.py)."""
        return task_contents(self, rng, cube_palette, bowl_palette)

    def sample_varied_layout(
        self,
        rng: np.random.Generator,
        cube_palette: tuple[str, ...],
        bowl_palette: tuple[str, ...],
        attempts: int = 50,
    ) -> Layout:
        """A varied scene's initial layout: contents and placement drawn afresh until they fit."""
        for _ in range(attempts):
            contents = self.draw_contents(rng, cube_palette, bowl_palette)
            try:
                return self.place_varied(rng, contents.cubes, contents.bowls)
            except PlacementError:
                continue
        raise PlacementError(f"{self.name}: no valid varied layout in {attempts} draws")

    def place_varied(self, rng: np.random.Generator, cubes: list[str], bowls: list[str]) -> Layout:
        """One attempt at placing a varied scene's contents (sim/tasks/contents.py): bowls first, where
        they may sit a little farther out, then cubes clear of them; PlacementError when out of room."""
        occupancy = Occupancy()
        placed = {}
        for bowl in bowls:
            xy = sample_free_spot(rng, occupancy, BOWL_DISC_RADIUS_M, f"the {bowl} bowl", region=bowl_region)
            placed[bowl] = (float(xy[0]), float(xy[1]))
        return Layout(cubes=place_cubes(rng, cubes, occupancy), bowls=placed)

    def has_failed(self, state: SceneState) -> bool:
        """Whether the episode can no longer succeed (it then ends at once); no task but an absent-object
        one decides this early."""
        return False

    def is_success(self, state: SceneState) -> bool:
        raise NotImplementedError

    def stage_names(self) -> tuple[str, ...]:
        """The stages `progress` counts through, in order; the first is "start", the last "success"."""
        return ("start", "success")

    def progress(self, state: SceneState) -> int:
        """How far along the task `state` is, as an index into `stage_names`: the last index exactly when
        `is_success(state)` (TabletopEnv.step reads success off it). The furthest stage an episode reaches
        says where a failure stopped (`vla eval` records it per episode)."""
        return len(self.stage_names()) - 1 if self.is_success(state) else 0


CARRY_STAGES = ("start", "grasped", "lifted", "over the destination", "success")
LIFTED_M = 0.02  # a grasped cube whose bottom is this far above the table is "lifted" (a pick needs 0.04)


def carry_progress(task: Task, state: SceneState, cube: str, over_destination: bool) -> int:
    """`progress` for a task that carries `cube` somewhere (`CARRY_STAGES`): grasped by both jaws, lifted
    while grasped, over the destination while grasped (`over_destination`, the task's test), success."""
    start, grasped, lifted, over, success = range(len(CARRY_STAGES))
    if task.is_success(state):
        return success
    if not state.cube_grasped.get(cube, False):
        return start
    if state.cube_pos[cube][2] - CUBE_HALF <= LIFTED_M:
        return grasped
    return over if over_destination else lifted
