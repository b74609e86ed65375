"""`bench/grasp_retries.py` sorts an evaluation's episodes by outcome and grasps made, per task family."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def write_eval_info(path: Path, episodes: list[tuple[str, bool, int]]) -> Path:
    rows = [
        {"task": task, "seed": seed, "success": won, "gripper_closes": closes}
        for seed, (task, won, closes) in enumerate(episodes)
    ]
    path.write_text(json.dumps({"suite": "tabletop", "per_episode": rows}))
    return path


def test_retried_wins_and_losses_are_counted_per_family(tmp_path):
    info = write_eval_info(
        tmp_path / "eval_info.json",
        [
            ("pick_red_cube", True, 1),
            ("pick_green_cube", True, 3),  # three closes count as a retry
            ("pick_red_cube", False, 1),
            ("stack_blue_cube_on_red_cube", False, 0),
            ("push_green_cube_right", True, 0),
        ],
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "grasp_retries.py"), str(info)],
        capture_output=True,
        text=True,
        check=True,
    )
    name = tmp_path.name  # the table names an evaluation by its folder
    rows = {
        line.split(" | ")[1]: line for line in result.stdout.splitlines() if line.startswith(f"| {name} ")
    }
    assert rows["pick"] == f"| {name} | pick | 0 | 1 | 1 | 0 | 1 | 0 |"
    assert rows["stack"] == f"| {name} | stack | 0 | 0 | 0 | 1 | 0 | 0 |"
    assert rows["push"] == f"| {name} | push | 1 | 0 | 0 | 0 | 0 | 0 |"


def test_an_eval_from_before_the_field_is_named(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    from grasp_retries import retry_table

    path = tmp_path / "eval_info.json"
    path.write_text(
        json.dumps({"suite": "tabletop", "per_episode": [{"task": "pick_red_cube", "success": True}]})
    )
    with pytest.raises(KeyError, match=r"eval_info\.json: no gripper_closes"):
        retry_table(path)
