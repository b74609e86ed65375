"""Retry demonstrations: a first grasp aimed beside the cube closes on nothing, and the expert re-plans."""

import numpy as np
import pytest

from sim.expert import GRIPPER_OPEN, pick_waypoints, push_waypoints
from sim.expert_retry import GraspMiss, aim_beside
from sim.rollout import ExpertRunner
from vla.cli import build_parser
from vla.cli_train import _stream_config
from vla.record_arrays import ExpertJob, run_expert_job
from vla.training.stream import StreamConfig

PICK_CLOSED_STEP = 84  # hover 1.2 s + descend 0.8 s + close 0.8 s at 30 Hz (sim/expert.py pick_waypoints)
HELD_CUBE_GRIPPER = 25.0  # %: the jaws read ~33 around a held cube, fall towards 0 on nothing


def test_a_grasp_aimed_beside_the_cube_misses_and_the_retry_succeeds(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    episode = ExpertRunner(env, miss=GraspMiss(1.0)).run_episode(5, task="pick_red_cube", keep_data=True)
    assert episode.grasp_offset_m is not None and 0.02 <= abs(episode.grasp_offset_m) <= 0.035
    assert episode.retry_step == PICK_CLOSED_STEP
    assert episode.success
    # What a policy sees at the retry: jaws closed on nothing. What the expert does next: open them.
    assert episode.observations[PICK_CLOSED_STEP]["agent_pos"][-1] < HELD_CUBE_GRIPPER
    assert episode.actions[PICK_CLOSED_STEP][-1] == GRIPPER_OPEN
    clean = ExpertRunner(env).run_episode(5, task="pick_red_cube")
    assert clean.success and clean.steps < episode.steps  # the retry costs time
    assert clean.grasp_offset_m is None and clean.retry_step is None


def test_a_grasp_that_catches_the_cube_after_all_is_not_retried(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    barely = GraspMiss(1.0, offset_m=(0.001, 0.002))  # within the pads' play: the cube is caught
    episode = ExpertRunner(env, miss=barely).run_episode(5, task="pick_red_cube")
    assert episode.grasp_offset_m is not None and episode.retry_step is None and episode.success


def test_a_push_has_no_grasp_to_miss(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    episode = ExpertRunner(env, miss=GraspMiss(1.0)).run_episode(2, task="push_green_cube_right")
    assert episode.grasp_offset_m is None and episode.retry_step is None and episode.success


def test_aim_beside_moves_the_approach_across_the_jaws_and_nothing_after_the_close(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    env.reset(seed=3, options={"task": "pick_red_cube"})
    state = env.scene_state()
    plan = pick_waypoints(state, "red")  # hover, descend, close, lift
    moved = aim_beside(plan, 0.03)
    for before, after in zip(plan[:3], moved[:3], strict=True):
        shift = after.pos - before.pos
        assert np.linalg.norm(shift) == pytest.approx(0.03)
        closing = np.array([np.cos(before.yaw), np.sin(before.yaw), 0.0])
        assert shift @ closing == pytest.approx(0.0, abs=1e-12)  # sideways, not along the closing jaws
    np.testing.assert_array_equal(moved[3].pos, plan[3].pos)
    push = push_waypoints(state, "red", 1.0)
    assert [w.pos.tolist() for w in aim_beside(push, 0.03)] == [w.pos.tolist() for w in push]


def test_the_share_of_misses_is_drawn_from_the_seed():
    never, always, some = GraspMiss(0.0), GraspMiss(1.0), GraspMiss(0.3)
    assert all(never.draw(seed) is None for seed in range(50))
    offsets = [always.draw(seed) for seed in range(200)]
    assert all(0.02 <= abs(o) <= 0.035 for o in offsets)
    assert min(offsets) < 0 < max(offsets)  # either side
    assert [always.draw(seed) for seed in range(20)] == offsets[:20]  # reproducible
    drawn = sum(some.draw(seed) is not None for seed in range(2000))
    assert 500 < drawn < 700


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"share": 1.5}, "share"), ({"share": 0.5, "offset_m": (0.03, 0.02)}, "offset")]
)
def test_bad_miss_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GraspMiss(**kwargs)


def test_a_miss_job_keeps_its_episodes_from_the_retry_on():
    (retried,) = run_expert_job(ExpertJob("tabletop", "pick_red_cube", 7, 1, miss_share=1.0))
    (clean,) = run_expert_job(ExpertJob("tabletop", "pick_red_cube", 7, 1))
    assert retried["state"][0, -1] < HELD_CUBE_GRIPPER  # the first kept frame: jaws closed on nothing
    assert retried["action"][0, -1] == GRIPPER_OPEN
    assert retried["images"]["observation.images.front"].shape[0] == len(retried["action"])
    assert len(retried["state"]) == len(retried["environment_state"]) == len(retried["action"])
    assert retried["task"] == clean["task"]


def test_the_miss_flag_reaches_the_stream_and_bad_values_name_it():
    args = build_parser().parse_args(
        ["train", "--stream-expert", "tabletop", "--out", "x", "--stream-miss-share", "0.3"]
    )
    assert _stream_config(args).miss_share == 0.3
    with pytest.raises(ValueError, match="--stream-miss-share"):
        StreamConfig(miss_share=-0.1)
