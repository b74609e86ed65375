"""The `vla` command as a user runs it: as a process, checking output and files."""

import json
import subprocess
import sys


def vla(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vla", *args], capture_output=True, text=True, check=check)


def test_help_for_every_command():
    commands = (
        [],
        ["sim"],
        ["sim", "list"],
        ["sim", "expert"],
        ["record"],
        ["data"],
        ["data", "check"],
        ["train"],
        ["eval"],
        ["export"],
        ["bench", "sim"],
        ["bench", "record"],
        ["bench", "policy"],
        ["bench", "language"],
        ["bench", "latency"],
        ["demo"],
    )
    for command in commands:
        result = vla(*command, "--help")
        assert "usage: vla" in result.stdout


def test_sim_list_shows_tasks_and_templates():
    out = vla("sim", "list").stdout
    assert "place_red_cube_in_white_bowl" in out
    assert "put the {cube} cube in the {bowl} bowl" in out
    assert "heldout" in out


def test_sim_expert_writes_the_results_json(tmp_path):
    out_file = tmp_path / "expert.json"
    tasks = ["pick_red_cube", "push_green_cube_right"]  # two, not the suite's eight: the table is the same
    command = ["sim", "expert", "--episodes", "1", "--workers", "1", "--json", str(out_file)]
    result = vla(*command, *(arg for task in tasks for arg in ("--task", task)))
    results = json.loads(out_file.read_text())
    assert sorted(results["tasks"]) == sorted(tasks)
    for name, task in results["tasks"].items():
        assert task["episodes"] == 1 and 0.0 <= task["success_rate"] <= 1.0
        assert name in result.stdout
    assert results["mean_success"] == sum(t["success_rate"] for t in results["tasks"].values()) / len(
        results["tasks"]
    )
    assert "| task" in result.stdout


def test_unknown_suite_is_a_clear_error():
    result = vla("sim", "list", "--suite", "kitchen", check=False)
    assert result.returncode == 2
    assert "unknown suite 'kitchen'; known suites: tabletop" in result.stderr
    assert "Traceback" not in result.stderr
