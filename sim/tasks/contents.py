"""What a varied scene holds: per episode, which cube and bowl colours are on the table.

Used by suites whose scenes vary (`tabletop_compose`, sim/tasks/suites.py); the `tabletop` suite keeps its
fixed contents (every cube, sim/tasks/<family>.py `draw_layout`). Rules, so that the instruction is always
needed to tell what to do:

- 2 to 5 cubes and 0 to 2 bowls, colours drawn without repeats from the suite's palettes;
- the objects the instruction names are on the table, plus at least one distractor of the target's kind:
  another cube (a stack has a third cube besides its two), and for `place` a second bowl;
- a push has at most one bowl (kept behind the push, sim/tasks/push.py `place_varied`);
- an absent-object episode (sim/tasks/absent.py) leaves out one named object and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CUBES_PER_SCENE = (2, 5)  # inclusive range
BOWLS_PER_SCENE = (0, 2)
MAX_OBJECT_DISCS = 7  # cubes + 2 x bowls at most; more rarely fits the reachable sector (place: 2-3 cubes)


@dataclass(frozen=True)
class Contents:
    """The colours on the table this episode, named objects first."""

    cubes: list[str]
    bowls: list[str]


def draw_contents(
    rng: np.random.Generator,
    cube_palette: tuple[str, ...],
    bowl_palette: tuple[str, ...],
    cubes: tuple[str, ...] = (),
    bowls: tuple[str, ...] = (),
    min_cubes: int = 2,
    bowl_range: tuple[int, int] = BOWLS_PER_SCENE,
    exclude_cubes: tuple[str, ...] = (),
    exclude_bowls: tuple[str, ...] = (),
) -> Contents:
    """Colours for one scene: the required `cubes` and `bowls`, then distractors drawn from the palettes
    (never one in `exclude_*`), at least `min_cubes` cubes and a bowl count in `bowl_range`."""
    n_bowls = int(rng.integers(max(bowl_range[0], len(bowls)), bowl_range[1] + 1))
    bowl_pool = [b for b in bowl_palette if b not in bowls and b not in exclude_bowls]
    extra_bowls = (
        list(rng.choice(bowl_pool, size=n_bowls - len(bowls), replace=False)) if n_bowls > len(bowls) else []
    )
    max_cubes = min(CUBES_PER_SCENE[1], MAX_OBJECT_DISCS - 2 * n_bowls)
    n_cubes = int(rng.integers(max(min_cubes, len(cubes), CUBES_PER_SCENE[0]), max(max_cubes, min_cubes) + 1))
    cube_pool = [c for c in cube_palette if c not in cubes and c not in exclude_cubes]
    extra_cubes = list(rng.choice(cube_pool, size=n_cubes - len(cubes), replace=False))
    return Contents([*cubes, *map(str, extra_cubes)], [*bowls, *map(str, extra_bowls)])


def task_contents(task, rng: np.random.Generator, cube_palette, bowl_palette) -> Contents:
    """A scene for `task` whose named objects are all there (the rules in the module docstring)."""
    family = task.family
    bowl_range = {"place": (2, 2), "push": (0, 1)}.get(family, BOWLS_PER_SCENE)
    min_cubes = 3 if family == "stack" else 2
    return draw_contents(
        rng, cube_palette, bowl_palette, task.named_cubes(), task.named_bowls(), min_cubes, bowl_range
    )
