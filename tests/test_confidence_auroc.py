"""AUROC (vla/evaluation/stats.py) and `bench/confidence_auroc.py`: does early confidence predict failure?"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vla.evaluation.stats import auroc

ROOT = Path(__file__).resolve().parents[1]


def test_auroc_ranks_positives_over_negatives_with_ties_counting_half():
    assert auroc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auroc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auroc([0.5, 0.5], [True, False]) == 0.5
    # positive 0.7 beats both negatives, positive 0.3 beats 0.2 and ties none: (2 + 1) / 4
    assert auroc([0.7, 0.3, 0.2, 0.4], [True, True, False, False]) == 0.75
    with pytest.raises(ValueError, match="needs both classes; got 2 positive, 0 negative"):
        auroc([0.1, 0.2], [True, True])


def write_eval_info(path: Path, episodes: list[tuple[bool, float]]) -> Path:
    rows = [
        {"task": "pick_red_cube", "seed": seed, "success": won, "confidence_first_s": confidence}
        for seed, (won, confidence) in enumerate(episodes)
    ]
    path.write_text(json.dumps({"suite": "tabletop", "per_episode": rows}))
    return path


def test_bench_reports_auroc_per_file_and_pooled(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    confident_wins = write_eval_info(
        tmp_path / "a" / "eval_info.json", [(True, 0.9), (False, 0.4), (True, 0.8)]
    )
    mixed = write_eval_info(tmp_path / "b" / "eval_info.json", [(True, 0.5), (False, 0.6)])
    out = tmp_path / "auroc.json"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "confidence_auroc.py"),
            str(confident_wins),
            str(mixed),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.read_text())
    assert rows[str(confident_wins)]["auroc_failure"] == 1.0
    assert rows[str(mixed)]["auroc_failure"] == 0.0  # the failure was the more confident one
    # pooled: failures at 0.4 and 0.6 against wins at 0.9, 0.8, 0.5: 3 + 2 of 6 pairs
    assert rows["pooled"]["auroc_failure"] == pytest.approx(5 / 6)
    assert rows["pooled"]["failures"] == 2 and rows["pooled"]["episodes"] == 5
    assert "| a | 3 | 1 | 1.000 |" in result.stdout


def test_bench_names_an_eval_without_the_field(tmp_path):
    path = tmp_path / "eval_info.json"
    path.write_text(
        json.dumps({"suite": "tabletop", "per_episode": [{"task": "pick_red_cube", "success": True}]})
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "confidence_auroc.py"), str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "eval_info.json: no confidence_first_s" in result.stderr
