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


# Exports shared by the runtime and ROS test modules: built once per session (each takes ~40 s on 2 cores).
@pytest.fixture(scope="session")
def debug_export(tmp_path_factory) -> tuple[Path, Path]:
    """A `debug` checkpoint exported by the `vla export` command (fp32 only)."""
    from tests.test_model import make_bundle
    from vla.models.checkpoint import save_checkpoint

    root = tmp_path_factory.mktemp("debug_export")
    checkpoint = save_checkpoint(root / "checkpoint", make_bundle(seed=4))
    out = root / "export"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vla",
            "export",
            "--policy",
            str(checkpoint),
            "--out",
            str(out),
            "--variant",
            "fp32",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "policy.onnx" in result.stdout
    return checkpoint, out


@pytest.fixture(scope="session")
def shipped_export(tmp_path_factory):
    """The shipped default policy, exported for the runtime (what a robot would load)."""
    from vla.default_policy import SHIPPED_POLICY
    from vla.export import export_policy

    assert (SHIPPED_POLICY / "model.safetensors").is_file(), f"no shipped policy in {SHIPPED_POLICY}"
    out = tmp_path_factory.mktemp("shipped") / "export"
    return export_policy(SHIPPED_POLICY, out, variants=["fp32"], progress=lambda message: None)
