"""Every command in README.md and the docs it links runs as written, at a tiny size (tests/docs_commands.py).

A command that stops working, or a flag that disappears, fails here; commands that need hardware or a
ROS install are skipped by the one list in tests/docs_commands.py (SKIPPED), with the reason for each.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from tests import docs_commands
from tests.docs_commands import DocCommand, bash_commands, documented_commands, linked_pages, sized


def test_blocks_parse_into_commands(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n```bash\nvla eval --policy x \\\n    --episodes-per-task 50   # comment\n\n"
        "# only a comment\n```\n"
        "```python\nprint('not a shell command')\n```\n```bash\nmake demo\n```\n"
    )
    commands = bash_commands(page, tmp_path)
    assert [c.text for c in commands] == ["vla eval --policy x --episodes-per-task 50", "make demo"]
    assert [c.source for c in commands] == ["page.md:3", "page.md:12"]


def test_sizes_and_placeholders():
    run = sized(shlex.split("vla train --data.dataset <dataset> --optim.steps 20000 --run.out runs/nano"))
    assert run[:7] == [
        "vla", "train", "--data.dataset", "datasets/tabletop_expert", "--optim.steps", "2", "--run.out",
    ]  # fmt: skip
    assert run[run.index("--policy.model") + 1] == "debug" and run[run.index("--optim.batch_size") + 1] == "2"
    finetune = sized(
        shlex.split("vla train --data.dataset d --policy.init policies/tabletop_nano --run.out o")
    )
    assert "--policy.model" not in finetune  # the checkpoint's architecture stays
    run = sized(shlex.split(".venv/bin/vla eval --episodes-per-task=50 --workers 2 --task pick_red_cube"))
    assert run[2:] == ["--episodes-per-task=1", "--workers", "1", "--task", "pick_red_cube", "--no-video"]


def test_skip_list_matches_whole_words():
    outcome = docs_commands.run_command(DocCommand("x.md:1", "make test"), Path("."), {})
    assert outcome.action == "skipped" and "test suite" in outcome.reason
    table = {"make test": "suite", "ros2 ": "ROS"}
    assert docs_commands._match(table, "make test") == "suite"
    assert docs_commands._match(table, "make test-fast") is None  # another target, not `make test`
    assert docs_commands._match(table, "ros2 launch vla_ros x.launch.xml") == "ROS"


def test_make_recipe_is_the_recipe_alone_when_run_under_make():
    # `make test-docs` runs this test under make: its MAKELEVEL must not add "make[1]: Entering ..." lines
    env = {**os.environ, "MAKELEVEL": "1", "MAKEFLAGS": "w"}
    lines, error = docs_commands.make_recipe(["make", "demo"], docs_commands.REPO, env)
    assert not error
    assert lines == [[".venv/bin/vla", "demo"]]


def test_readme_links_only_existing_pages():
    pages = linked_pages(docs_commands.REPO / "README.md")
    assert pages, "README.md links no docs/*.md page"
    assert all(page.is_file() for page in pages)


@pytest.mark.slow
@pytest.mark.docs  # ~20 min on 2 cores: `make test-docs`, which CI runs after `make test`
def test_every_documented_command_runs(tmp_path, capsys):
    commands = documented_commands()
    assert commands, "no ```bash commands found in README.md"
    outcomes = docs_commands.run_all(tmp_path)
    summary = docs_commands.report(outcomes)
    with capsys.disabled():
        print("\n" + "\n".join(docs_commands.format_outcome(o) for o in outcomes))
        print(json.dumps({k: summary[k] for k in ("counts", "failed", "seconds")}))
    failures = [f"{o.source} `{o.ran or o.command}`:\n{o.output_tail}" for o in outcomes if not o.ok]
    assert not failures, "\n\n".join(failures)
    assert summary["counts"].get("ran", 0) >= len(commands) // 2  # most are run, not skipped
