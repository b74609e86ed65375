"""The scene's cube and bowl bodies, and which colour each shows in the current episode.

In the `tabletop` scene every body is one colour for good (`cube_red`, ...). In a pooled scene
(`SceneConfig.cube_slots`) a fixed pool of bodies (`cube_0` ... `cube_4`, `bowl_0`, `bowl_1`) is coloured
per episode through its geoms' rgba, the colours a layout uses going to bodies in a random order, and the
bodies an episode leaves unused are parked under the table. Tasks and experts never see bodies: they read
a `SceneState` keyed by colour.

A parked body's geoms also move to `PARKED_GEOM_GROUP`, which MuJoCo's default visual options do not draw:
under the table no camera sees them anyway, so the frames are the same, but each drawn geom costs
llvmpipe ~50 us per 128x128 frame (a parked 13-geom bowl was ~13 % of a compose step's render time,
docs/LOG.md 2026-12-06).
"""

from __future__ import annotations

import mujoco
import numpy as np

from sim.palette import BOWL_PALETTE, CUBE_PALETTE
from sim.scene import CUBE_HALF, PARKED_Z, SceneConfig
from sim.tasks import Layout

ON_TABLE_MIN_Z = PARKED_Z / 2  # an object below this (m) is parked on the floor, not in the scene
PARKED_GEOM_GROUP = 5  # mjvOption.geomgroup draws groups 0-2 by default; the arm's collision meshes are 3


class SceneObjects:
    """Body bookkeeping for `TabletopEnv`: assign colours, place a layout, read positions by colour."""

    def __init__(self, model: mujoco.MjModel, config: SceneConfig):
        self.model, self.pooled = model, config.pooled
        self.cube_qpos = [model.joint(name).qposadr[0] for name in config.cube_bodies]
        self.cube_geom = [model.geom(name).id for name in config.cube_bodies]
        self.bowl_mocap = [model.body(name).mocapid[0] for name in config.bowl_bodies]
        self.bowl_geoms = [
            np.flatnonzero(model.geom_bodyid == model.body(name).id) for name in config.bowl_bodies
        ]
        self.visible_group = model.geom_group.copy()  # (ngeom,) each geom's group when on the table
        # colour shown by each body this episode (None: parked, pooled scenes only)
        self.cube_colour: list[str | None] = [] if self.pooled else list(config.cube_colours)
        self.bowl_colour: list[str | None] = [] if self.pooled else list(config.bowl_colours)
        if self.pooled:
            self.cube_colour = [None] * len(self.cube_qpos)
            self.bowl_colour = [None] * len(self.bowl_mocap)

    def assign(self, layout: Layout, rng: np.random.Generator) -> None:
        """Pooled scenes: give the layout's colours to bodies in a random order and colour their geoms."""
        if not self.pooled:
            return
        for colours, kinds, what in (
            (layout.cubes, self.cube_colour, "cube"),
            (layout.bowls, self.bowl_colour, "bowl"),
        ):
            if len(colours) > len(kinds):
                raise ValueError(
                    f"the layout has {len(colours)} {what}s; the scene's pool holds {len(kinds)}"
                )
            order = rng.permutation(len(kinds))
            kinds[:] = [None] * len(kinds)
            for colour, body in zip(colours, order[: len(colours)], strict=False):
                kinds[body] = colour
        for body, colour in enumerate(self.cube_colour):
            if colour is not None:
                self.model.geom_rgba[self.cube_geom[body]] = [*CUBE_PALETTE[colour], 1.0]
        for body, colour in enumerate(self.bowl_colour):
            if colour is not None:
                self.model.geom_rgba[self.bowl_geoms[body]] = [*BOWL_PALETTE[colour], 1.0]

    def place(self, data: mujoco.MjData, layout: Layout) -> None:
        """Write the layout's poses; a body whose colour the layout leaves out is parked."""
        for i, colour in enumerate(self.cube_colour):
            if colour in layout.cubes:
                x, y, yaw = layout.cubes[colour]
                pose = [x, y, CUBE_HALF, np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
            else:  # parked under the table top, out of every camera's view
                pose = [0.1 + 0.06 * i, 0.0, PARKED_Z + CUBE_HALF, 1.0, 0.0, 0.0, 0.0]
            adr = self.cube_qpos[i]
            data.qpos[adr : adr + 7] = pose
            self._show(self.cube_geom[i], colour in layout.cubes)
        for i, colour in enumerate(self.bowl_colour):
            xy = layout.bowls.get(colour, (0.1 + 0.15 * i, -0.3))
            z = 0.0 if colour in layout.bowls else PARKED_Z
            data.mocap_pos[self.bowl_mocap[i]] = [xy[0], xy[1], z]
            self._show(self.bowl_geoms[i], colour in layout.bowls)

    def _show(self, geoms: int | np.ndarray, on_table: bool) -> None:
        """Draw the geoms in their own group when on the table; in `PARKED_GEOM_GROUP` when parked."""
        self.model.geom_group[geoms] = self.visible_group[geoms] if on_table else PARKED_GEOM_GROUP

    def cube_bodies(self) -> list[tuple[int, str]]:
        """(body index, colour) of the cubes a `SceneState` reports: every cube of a fixed scene (parked
        ones too, as before pools), the coloured ones of a pooled scene."""
        return [(i, c) for i, c in enumerate(self.cube_colour) if c is not None]

    def bowl_bodies(self) -> list[tuple[int, str]]:
        return [(i, c) for i, c in enumerate(self.bowl_colour) if c is not None]

    def cube_pose(self, data: mujoco.MjData, body: int) -> tuple[np.ndarray, float]:
        """A cube's centre (3,) in m and its yaw about world z in rad."""
        adr = self.cube_qpos[body]
        w, x, y, z = data.qpos[adr + 3 : adr + 7]
        return data.qpos[adr : adr + 3].copy(), float(
            np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
        )

    def geom_colours(self) -> dict[int, str]:
        """Cube geom id -> its colour this episode."""
        return {self.cube_geom[i]: c for i, c in self.cube_bodies()}
