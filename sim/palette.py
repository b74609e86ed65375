"""Object colours: the palettes scenes draw from, and the colour ids the environment state uses.

The `tabletop` suite's four cubes and two bowls keep their colours (sim/scene.py `CUBE_COLOURS`,
`BOWL_COLOURS`); the palettes extend them, so every tabletop task is also a composition of the larger
suite. Colours are chosen far apart in hue (and in lightness for the bowls) so a 128 x 128 camera tells
them apart under the per-episode light and table jitter of sim/appearance.py. RGB in [0, 1].
"""

from __future__ import annotations

CUBE_PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "green": (0.15, 0.70, 0.20),
    "blue": (0.12, 0.30, 0.90),
    "yellow": (0.95, 0.85, 0.10),
    "orange": (1.00, 0.50, 0.05),
    "purple": (0.55, 0.20, 0.70),
}
BOWL_PALETTE: dict[str, tuple[float, float, float]] = {
    "white": (0.92, 0.92, 0.92),
    "purple": (0.55, 0.20, 0.70),
    "black": (0.10, 0.10, 0.12),
}

# One vocabulary of colour names for both kinds: an object's `colour` id in the environment state is its
# index here, so "purple" is one id whether it names a cube or a bowl.
COLOUR_NAMES: tuple[str, ...] = tuple(dict.fromkeys([*CUBE_PALETTE, *BOWL_PALETTE]))


def colour_id(name: str) -> int:
    """Index of a colour name in `COLOUR_NAMES`; ValueError listing them for an unknown name."""
    if name not in COLOUR_NAMES:
        raise ValueError(f"unknown colour {name!r}; known colours: {', '.join(COLOUR_NAMES)}")
    return COLOUR_NAMES.index(name)
