"""Gymnasium ids: `vla/Tabletop-v0` (task chosen per reset or by the `task` kwarg)."""

from __future__ import annotations

import gymnasium as gym

TABLETOP_ENV_ID = "vla/Tabletop-v0"


def register_envs() -> None:
    """Register the suite's gymnasium ids once (importing `sim` does this)."""
    if TABLETOP_ENV_ID not in gym.registry:
        gym.register(id=TABLETOP_ENV_ID, entry_point="sim.env:TabletopEnv")
