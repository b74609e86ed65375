"""Shared fixtures. Importing `sim` first selects headless EGL rendering for every test."""

from __future__ import annotations

import pytest

import sim  # noqa: F401


@pytest.fixture(scope="session")
def env_factory():
    """Build TabletopEnv instances and close them all at the end of the session."""
    from sim.env import TabletopEnv

    made = []

    def make(**kwargs) -> TabletopEnv:
        env = TabletopEnv(**kwargs)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()
