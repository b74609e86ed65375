"""`environment_state`: where the objects are, as privileged simulator state (a training label).

Two representations, chosen by the scene:

- fixed scene (`tabletop` suite), (22,) float32, unchanged since the shipped policy's recipes read it:
  x, y, z of each cube, x, y of each bowl (zeros for a parked one), then `TASK_STATE_NAMES`.
- pooled scene (`tabletop_compose`), (6 x K + 8,) float32 with K = cube_slots + bowl_slots (7): one entry per
  pool body, cubes first, padded and masked, then the instruction's objects:
    object<k>.present   1 if the body is on the table this episode, else 0 (and the entry is all zeros)
    object<k>.kind      0 cube, 1 bowl (`OBJECT_KINDS`)
    object<k>.colour    index into sim/palette.py `COLOUR_NAMES` (one vocabulary for cubes and bowls)
    object<k>.x, .y, .z centre in metres, world frame (a bowl's z is its floor, 0)
    task_object.entry, task_destination.entry   the k of the named cube / of its bowl or base cube,
                        -1 where the instruction names none (pick, push) or it is absent from the scene
    task_object.x ... task_destination.z        as in the fixed scene (zeros for an absent object)
  Bodies take the episode's colours in a random order, so an entry's index says nothing of its role.
"""

from __future__ import annotations

import numpy as np

from sim.palette import colour_id
from sim.scene import SceneConfig
from sim.tasks.push import AWAY, SIDE_SIGN, side_destination

# The last entries of the fixed scene's environment state: where the objects the instruction names are.
# They depend on the instruction, not on the picture alone (vla/models/task_choice.py learns to pick
# them).
TASK_STATE_NAMES: tuple[str, ...] = tuple(
    f"task_{o}.{axis}" for o in ("object", "destination") for axis in "xyz"
)
OBJECT_FIELDS: tuple[str, ...] = ("present", "kind", "colour", "x", "y", "z")
OBJECT_KINDS: tuple[str, ...] = ("cube", "bowl")
TASK_ENTRY_NAMES: tuple[str, ...] = ("task_object.entry", "task_destination.entry")


def environment_state_names(config: SceneConfig) -> list[str]:
    """Names of a scene's `environment_state` entries (module docstring)."""
    if config.pooled:
        slots = config.cube_slots + config.bowl_slots
        entries = [f"object{k}.{f}" for k in range(slots) for f in OBJECT_FIELDS]
        return entries + list(TASK_ENTRY_NAMES) + list(TASK_STATE_NAMES)
    cubes = [f"{c}_cube.{axis}" for c in config.cube_colours for axis in "xyz"]
    return cubes + [f"{b}_bowl.{axis}" for b in config.bowl_colours for axis in "xy"] + list(TASK_STATE_NAMES)


def task_values(scene: np.ndarray, sources: np.ndarray, constants: np.ndarray | None = None) -> np.ndarray:
    """The `TASK_STATE_NAMES` values (..., 6) float32 copied out of scene values (..., S) at `sources`
    (`TabletopEnv.task_state_sources`); where a source is -1 they read `constants` (6,)
    (`TabletopEnv.task_state_constants`), or 0."""
    fixed = 0.0 if constants is None else constants
    return np.where(sources >= 0, scene[..., np.maximum(sources, 0)], fixed).astype(np.float32)


def fixed_destinations() -> dict[str, tuple[float, float, float]]:
    """The destinations that are places, not objects (x, y, z in m): the sides pushes go to, by name."""
    return {f"{side}_side": side_destination(side) for side in (*SIDE_SIGN, AWAY)}


def object_entries(
    cubes: list[tuple[int, str, np.ndarray]],
    bowls: list[tuple[int, str, np.ndarray]],
    cube_slots: int,
    bowl_slots: int,
    slots: dict[str, str],
) -> np.ndarray:
    """The pooled scene's state (module docstring) from the bodies on the table: (body index, colour,
    position (3,) m) per cube and per bowl; `slots` are the task's (cube, bowl/base, side)."""
    entries = np.zeros((cube_slots + bowl_slots, len(OBJECT_FIELDS)), np.float32)
    where: dict[tuple[str, str], int] = {}
    for kind, offset, bodies in ((0, 0, cubes), (1, cube_slots, bowls)):
        for body, colour, pos in bodies:
            entries[offset + body] = [1.0, kind, colour_id(colour), *pos]
            where[(OBJECT_KINDS[kind], colour)] = offset + body
    named = [("cube", slots["cube"])]
    named.append(
        ("bowl", slots["bowl"]) if "bowl" in slots else ("cube", slots["base"]) if "base" in slots else None
    )
    task = np.zeros(2 + len(TASK_STATE_NAMES), np.float32)
    for i, name in enumerate(named):
        entry = where.get(name, -1) if name is not None else -1
        task[i] = entry
        if entry >= 0:
            task[2 + 3 * i : 5 + 3 * i] = entries[entry, 3:]
    if "side" in slots:
        task[5:8] = side_destination(slots["side"])
    return np.concatenate([entries.reshape(-1), task])
