"""`vla eval --reuse` keeps an evaluation on disk only for the same policy files and settings."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

from vla.evaluation.reuse import evaluation_request, policy_files_sha256, reusable_evaluation
from vla.evaluation.runner import EvalConfig


def policy_folder(tmp_path, weights: bytes):
    folder = tmp_path / "checkpoints" / "last"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "normalization.json").write_text("{}")
    return folder


def write_eval(out, config: EvalConfig) -> None:
    out.mkdir(parents=True, exist_ok=True)
    info = {"request": evaluation_request(config), "aggregated": {"n_episodes": 1}}
    (out / "eval_info.json").write_text(json.dumps(info))


def test_the_digest_follows_the_files_and_the_expert_has_none(tmp_path):
    folder = policy_folder(tmp_path, b"weights one")
    first = policy_files_sha256(str(folder))
    assert first == policy_files_sha256(str(folder))
    policy_folder(tmp_path, b"weights two")  # retrained under the same name
    assert policy_files_sha256(str(folder)) != first
    assert policy_files_sha256("expert") is None


def test_an_evaluation_is_kept_only_for_the_same_files_and_settings(tmp_path):
    folder = policy_folder(tmp_path, b"weights one")
    config = EvalConfig(policy=str(folder), suite="tabletop", episodes_per_task=20, out=tmp_path / "eval")
    assert reusable_evaluation(config.out, config) is None  # nothing there yet
    write_eval(config.out, config)
    assert reusable_evaluation(config.out, config) is not None
    assert reusable_evaluation(config.out, replace(config, workers=1, videos=False)) is not None
    assert reusable_evaluation(config.out, replace(config, episodes_per_task=10)) is None
    assert reusable_evaluation(config.out, replace(config, suite="tabletop_push_away")) is None
    policy_folder(tmp_path, b"weights two")  # the checkpoint retrained in place
    assert reusable_evaluation(config.out, config) is None


def test_an_evaluation_from_before_requests_were_recorded_is_not_kept(tmp_path):
    config = EvalConfig(policy="expert", out=tmp_path / "eval")
    config.out.mkdir()
    (config.out / "eval_info.json").write_text(json.dumps({"policy": "expert", "aggregated": {}}))
    assert reusable_evaluation(config.out, config) is None


def test_vla_eval_reuse_skips_the_same_evaluation_and_runs_a_changed_one(tmp_path):
    out = tmp_path / "expert"

    def vla_eval(episodes: str) -> str:
        command = [sys.executable, "-m", "vla", "eval", "--policy", "expert", "--task", "pick_red_cube"]
        command += ["--episodes-per-task", episodes, "--workers", "1", "--no-video", "--out", str(out)]
        result = subprocess.run([*command, "--reuse"], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "--reuse:" not in vla_eval("1")
    written = (out / "eval_info.json").stat().st_mtime_ns
    assert "--reuse: " in vla_eval("1")
    assert (out / "eval_info.json").stat().st_mtime_ns == written
    assert "--reuse:" not in vla_eval("2")
    assert json.loads((out / "eval_info.json").read_text())["aggregated"]["n_episodes"] == 2
