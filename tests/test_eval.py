"""`vla eval`: parallel seeded episodes, Wilson intervals, eval_info.json with LeRobot's fields, videos."""

from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest

from sim.tasks import get_task
from vla.evaluation.stats import wilson_interval


def test_wilson_interval_known_values():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_gripper_closes_count_each_fall_to_shut_after_open():
    from vla.evaluation.runner import gripper_closes

    assert gripper_closes([]) == 0
    assert gripper_closes([0.0, 0.0, 0.0]) == 0  # shut from the start: no grasp made
    assert gripper_closes([60, 60, 20, 5, 0, 0]) == 1
    assert gripper_closes([60, 0, 60, 0]) == 2  # a retried grasp
    assert gripper_closes([60, 5, 15, 5, 40, 9]) == 2  # chatter near shut is one close until it reopens


def vla_eval(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "vla", "eval", *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_expert_eval_writes_eval_info_and_videos(tmp_path):
    out = tmp_path / "expert"
    result = vla_eval(
        "--policy",
        "expert",
        "--task",
        "pick_red_cube",
        "--task",
        "push_green_cube_right",
        "--episodes-per-task",
        "2",
        "--workers",
        "2",
        "--out",
        str(out),
    )
    info = json.loads((out / "eval_info.json").read_text())
    assert info["aggregated"]["pc_success"] == 100.0
    assert info["aggregated"]["n_episodes"] == 4
    assert set(info["per_task"]) == {"pick_red_cube", "push_green_cube_right"}
    for summary in info["per_task"].values():
        assert summary["pc_success"] == 100.0 and summary["n_episodes"] == 2
        low, high = summary["wilson_95_pc"]
        assert 0 < low < 100 == high
    assert [e["seed"] for e in info["per_episode"]] == [0, 1, 0, 1]
    # The expert grasps once per pick; a push keeps its jaws shut throughout.
    assert [e["gripper_closes"] for e in info["per_episode"]] == [1, 1, 0, 0]
    assert {e["stage"] for e in info["per_episode"]} == {"success"}
    assert {e["confidence_first_s"] for e in info["per_episode"]} == {None}  # the expert has none
    assert {e["abstain_first_s"] for e in info["per_episode"]} == {None}
    assert "pc_abstained_first_s" not in info["aggregated"]
    assert "| pick_red_cube" in result.stdout and "**overall**" in result.stdout
    for path in info["video_paths"]:
        episode = next(e for e in info["per_episode"] if e["video"] == path)
        with av.open(path) as container:
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == episode["steps"]
    assert len(info["video_paths"]) == 2


def test_heldout_instructions_are_used(tmp_path):
    out = tmp_path / "heldout"
    vla_eval(
        "--policy",
        "expert",
        "--task",
        "place_red_cube_in_white_bowl",
        "--episodes-per-task",
        "3",
        "--workers",
        "1",
        "--instructions",
        "heldout",
        "--no-video",
        "--out",
        str(out),
    )
    info = json.loads((out / "eval_info.json").read_text())
    task = get_task("place_red_cube_in_white_bowl")
    heldout = {t.format(**task.slots) for t in task.heldout_templates}
    assert {e["instruction"] for e in info["per_episode"]} <= heldout
    assert info["instructions"] == "heldout" and info["video_paths"] == []


def test_checkpoint_policy_runs_through_the_harness(tmp_path):
    from tests.test_model import make_bundle
    from vla.models.checkpoint import save_checkpoint

    checkpoint = save_checkpoint(tmp_path / "ckpt", make_bundle())
    out = tmp_path / "ckpt_eval"
    vla_eval(
        "--policy",
        str(checkpoint),
        "--task",
        "pick_red_cube",
        "--episodes-per-task",
        "1",
        "--workers",
        "1",
        "--out",
        str(out),
    )
    info = json.loads((out / "eval_info.json").read_text())
    assert info["policy"] == str(checkpoint)
    assert info["per_episode"][0]["steps"] > 0  # an untrained policy fails, but the episode ran to its end
    assert 0.0 < info["per_episode"][0]["confidence_first_s"] <= 1.0
    # No abstain head: the policy never refuses (abstain 0), and the summary says none refused.
    assert info["per_episode"][0]["abstain_first_s"] == 0.0
    assert info["aggregated"]["pc_abstained_first_s"] == 0.0


def test_unknown_policy_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vla",
            "eval",
            "--policy",
            str(tmp_path / "nope"),
            "--task",
            "pick_red_cube",
            "--episodes-per-task",
            "1",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "no such folder; give 'expert', a checkpoint folder" in result.stderr


def test_chunk_source_runs_execute_steps_of_each_chunk():
    from types import SimpleNamespace

    from vla.evaluation.policies import ChunkSource

    class CountingPolicy:
        calls = 0

        def reset(self):
            pass

        def infer(self, obs):
            CountingPolicy.calls += 1
            confidence = np.full(10, 0.1 * CountingPolicy.calls, np.float32)
            confidence[3:] = 1.0  # steps past execute_steps are never run: not counted
            return {
                "actions": np.full((10, 6), float(CountingPolicy.calls), np.float32),
                "confidence": confidence,
                "abstain": np.float32(0.1 * CountingPolicy.calls),
            }

    observation = {"pixels": {"front": None, "wrist": None}, "agent_pos": np.zeros(6, np.float32)}
    source = ChunkSource(CountingPolicy(), chunk_length=10, execute_steps=3)
    assert source.first_second_confidence is None
    env = SimpleNamespace(
        task_description="push the yellow cube left", config=SimpleNamespace(control_hz=6.0)
    )
    source.start(env, observation)
    firsts = [source.act(observation)[0] for _ in range(7)]
    assert firsts == [1, 1, 1, 2, 2, 2, 3]  # a new chunk every 3 actions
    # One second is 6 steps: the chunks of steps 0 and 3 (confidence 0.1, 0.2), not the one of step 6.
    assert source.first_second_confidence == pytest.approx(0.15)
    assert source.first_second_abstain == pytest.approx(0.2)  # the highest of those two chunks
    source.start(env, observation)  # a new episode starts its own first second
    assert source.first_second_confidence is None and source.first_second_abstain is None
    with pytest.raises(ValueError, match="--execute-steps 11: the policy's chunks have 10 actions"):
        ChunkSource(CountingPolicy(), chunk_length=10, execute_steps=11)


def test_chunk_source_holds_the_measured_joints_while_the_policy_abstains():
    from types import SimpleNamespace

    from vla.evaluation.policies import ChunkSource

    class RefusingThenActing:
        abstains = iter([0.9, 0.5, 0.2])  # the threshold (0.5) itself refuses

        def reset(self):
            pass

        def infer(self, obs):
            return {
                "actions": np.full((4, 6), 42.0, np.float32),
                "confidence": np.ones(4, np.float32),
                "abstain": np.float32(next(self.abstains)),
            }

    held = np.arange(6, dtype=np.float32)
    observation = {"pixels": {"front": None, "wrist": None}, "agent_pos": held}
    source = ChunkSource(RefusingThenActing(), chunk_length=4, execute_steps=2)
    env = SimpleNamespace(task_description="pick up the purple cube", config=SimpleNamespace(control_hz=30.0))
    source.start(env, observation)
    actions = [source.act(observation) for _ in range(6)]
    for action in actions[:4]:  # two refused chunks of two steps: the arm stays where it is
        np.testing.assert_array_equal(action, held)
    for action in actions[4:]:
        np.testing.assert_array_equal(action, np.full(6, 42.0))
    assert source.first_second_abstain == pytest.approx(0.9)
    assert source.held_after_first_s == 0  # both refusals came in the first second

    # At 2 Hz the first second is two steps: a policy that acts first and refuses later is held late, and
    # the first second's abstain does not show it.
    class ActingThenRefusing(RefusingThenActing):
        abstains = iter([0.2, 0.9, 0.7])

    source = ChunkSource(ActingThenRefusing(), chunk_length=4, execute_steps=2)
    source.start(
        SimpleNamespace(task_description="pick up the red cube", config=SimpleNamespace(control_hz=2.0)),
        observation,
    )
    actions = [source.act(observation) for _ in range(6)]
    np.testing.assert_array_equal(actions[0], np.full(6, 42.0))
    for action in actions[2:]:
        np.testing.assert_array_equal(action, held)
    assert source.first_second_abstain == pytest.approx(0.2) and source.held_after_first_s == 2
