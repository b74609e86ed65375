"""Small per-episode changes of lighting and table tint, for scenes whose contents vary.

Only the key light's brightness, the headlight's ambient level and the table's colour change, by amounts
a camera sees but a colour name survives (the palette's hues stay apart, sim/palette.py): the policy must
read colours under light it has not seen exactly, as on a real bench. Nothing here costs render time.
"""

from __future__ import annotations

import mujoco
import numpy as np

KEY_LIGHT_SCALE = (0.85, 1.15)  # factor on the key light's diffuse colour
AMBIENT_SCALE = (0.9, 1.1)  # factor on the headlight's ambient level
TABLE_TINT = 0.05  # +- per RGB channel of the table top


class AppearanceJitter:
    """Remembers the model's built-in light and table colour; `apply(rng)` sets this episode's."""

    def __init__(self, model: mujoco.MjModel):
        self.model = model
        self.key = model.light("key").id
        self.table = model.geom("table").id
        self.key_diffuse = model.light_diffuse[self.key].copy()
        self.ambient = model.vis.headlight.ambient.copy()
        self.table_rgba = model.geom_rgba[self.table].copy()

    def apply(self, rng: np.random.Generator) -> None:
        self.model.light_diffuse[self.key] = self.key_diffuse * rng.uniform(*KEY_LIGHT_SCALE)
        self.model.vis.headlight.ambient[:] = self.ambient * rng.uniform(*AMBIENT_SCALE)
        tint = rng.uniform(-TABLE_TINT, TABLE_TINT, 3)
        self.model.geom_rgba[self.table, :3] = np.clip(self.table_rgba[:3] + tint, 0.0, 1.0)
