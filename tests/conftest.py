"""Shared fixtures. Importing `sim` first selects headless EGL rendering for every test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


@pytest.fixture(scope="session")
def recorded_dataset(tmp_path_factory) -> Path:
    """A small real recording by `vla record`: expert episodes of pick_red_cube and push_green_cube_right."""
    root = tmp_path_factory.mktemp("recorded") / "demos"
    command = [
        sys.executable,
        "-m",
        "vla",
        "record",
        "--source",
        "expert",
        "--episodes-per-task",
        "1",
        "--task",
        "pick_red_cube",
        "--task",
        "push_green_cube_right",
        "--root",
        str(root),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return root
