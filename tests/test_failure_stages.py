"""`bench/failure_stages.py` counts each task's failed episodes by the furthest stage they reached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_failures_are_counted_by_the_furthest_stage(tmp_path):
    episodes = [
        ("stack_blue_cube_on_red_cube", True, "success"),
        ("stack_blue_cube_on_red_cube", False, "over the base"),
        ("stack_blue_cube_on_red_cube", False, "over the base"),
        ("stack_blue_cube_on_red_cube", False, "start"),
        ("pick_red_cube", False, "grasped"),
    ]
    rows = [{"task": t, "seed": i, "success": won, "stage": s} for i, (t, won, s) in enumerate(episodes)]
    info = tmp_path / "eval_info.json"
    info.write_text(json.dumps({"suite": "tabletop", "per_episode": rows}))
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "failure_stages.py"), str(info)],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = {line.split(":")[0].strip(): line for line in result.stdout.splitlines()[1:]}
    assert lines["stack_blue_cube_on_red_cube"].endswith(
        "3 of 4 failed; stopped at start 1, grasped 0, lifted 0, over the base 2"
    )
    assert lines["pick_red_cube"].endswith("1 of 1 failed; stopped at start 0, grasped 1")
