"""`bench/paired_eval.py` counts the episodes only one evaluation won, per task family, with an exact
McNemar p-value, from two `eval_info.json` files of the same seeds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_eval_info(path: Path, successes: dict[tuple[str, int], bool]) -> Path:
    episodes = [{"task": task, "seed": seed, "success": won} for (task, seed), won in successes.items()]
    path.write_text(json.dumps({"suite": "tabletop", "per_episode": episodes}))
    return path


def test_discordant_episodes_and_p_value_per_family(tmp_path):
    # pick: the first wins seeds 0-5 alone, the second none; push: both win seed 0, the second also seed 1.
    first = {("pick_red_cube", s): s < 6 for s in range(8)} | {
        ("push_yellow_cube_left", 0): True,
        ("push_yellow_cube_left", 1): False,
    }
    second = {("pick_red_cube", s): False for s in range(8)} | {
        ("push_yellow_cube_left", 0): True,
        ("push_yellow_cube_left", 1): True,
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench/paired_eval.py"),
            str(write_eval_info(tmp_path / "a.json", first)),
            str(write_eval_info(tmp_path / "b.json", second)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in result.stdout.splitlines()[2:]
    }
    # 6 against 0 discordant: p = 2 / 2**6; 0 against 1: p = 1.
    assert rows["pick"] == ["8", "6", "0", "6", "0", "0.031"]
    assert rows["push"] == ["2", "1", "2", "0", "1", "1.000"]
    assert rows["all"] == ["10", "7", "2", "6", "1", "0.125"]


def test_evaluations_without_a_shared_episode_are_refused(tmp_path):
    a = write_eval_info(tmp_path / "a.json", {("pick_red_cube", 0): True})
    b = write_eval_info(tmp_path / "b.json", {("pick_red_cube", 1): True})
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench/paired_eval.py"), str(a), str(b)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "share no (task, seed) episode" in result.stderr
