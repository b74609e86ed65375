"""The gymnasium environment: API conformance, observation format, bad input, determinism."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from sim import TABLETOP_ENV_ID
from sim.env import HOME_POSE
from sim.robot import ACTION_NAMES


@pytest.fixture(scope="module")
def env(env_factory):
    return env_factory(task="place_red_cube_in_white_bowl")


def test_passes_gymnasium_env_checker(env_factory):
    check_env(env_factory(), skip_render_check=False)


def test_registered_with_gymnasium():
    env = gym.make(TABLETOP_ENV_ID, task="pick_red_cube")
    try:
        _, info = env.reset(seed=0)
        assert info["task"] == "pick_red_cube"
    finally:
        env.close()


def test_observation_format(env):
    obs, info = env.reset(seed=3)
    assert set(obs["pixels"]) == {"front", "wrist"}
    for image in obs["pixels"].values():
        assert image.shape == (128, 128, 3) and image.dtype == np.uint8
        assert image.std() > 10, "camera image is blank"
    assert obs["agent_pos"].shape == (6,) and obs["agent_pos"].dtype == np.float32
    np.testing.assert_allclose(obs["agent_pos"], HOME_POSE, atol=2.5)
    assert "red" in info["task_description"] and "white" in info["task_description"]
    assert env.task == "place_red_cube_in_white_bowl" and env.task_description == info["task_description"]
    assert env.render().shape == (128, 128, 3)


def test_cameras_see_different_things(env):
    obs, _ = env.reset(seed=0)
    assert np.abs(obs["pixels"]["front"].astype(int) - obs["pixels"]["wrist"]).mean() > 10


def test_nan_action_raises_naming_the_joint(env):
    env.reset(seed=0)
    action = HOME_POSE.copy()
    action[1] = np.nan
    with pytest.raises(ValueError, match=r"shoulder_lift\.pos"):
        env.step(action)
    action[1] = -np.inf
    with pytest.raises(ValueError, match=r"shoulder_lift\.pos=-inf"):
        env.step(action)


def test_wrong_action_shape_is_rejected(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        env.step(np.zeros(5))


def test_actions_beyond_limits_are_clipped(env):
    env.reset(seed=0)
    action = HOME_POSE.copy()
    action[0] = 1000.0  # far past shoulder_pan's upper limit (110 degrees)
    env.step(action)
    pan_ctrl = np.rad2deg(env.data.ctrl[env.model.actuator("shoulder_pan").id])
    assert pan_ctrl == pytest.approx(env.action_space.high[0], abs=1e-3)
    assert ACTION_NAMES[0] == "shoulder_pan.pos"


def test_unknown_task_fails_listing_how_tasks_compose(env_factory):
    with pytest.raises(ValueError, match=r"does not parse; tasks: pick_<cube>_cube; .*side: left, right"):
        env_factory(task="juggle_cubes")


def test_any_composition_of_the_scene_runs(env_factory):
    env = env_factory(task="push_red_cube_right", render_mode=None, pixels=False)
    _, info = env.reset(seed=0)
    assert info["task"] == "push_red_cube_right" and "red" in info["task_description"]


def test_same_seed_same_first_observation(env_factory):
    a, b = env_factory(), env_factory()
    obs_a, info_a = a.reset(seed=11)
    obs_b, info_b = b.reset(seed=11)
    assert info_a == info_b
    np.testing.assert_array_equal(obs_a["agent_pos"], obs_b["agent_pos"])
    for camera in obs_a["pixels"]:
        np.testing.assert_array_equal(obs_a["pixels"][camera], obs_b["pixels"][camera])
    obs_c, _ = a.reset(seed=12)
    assert not np.array_equal(obs_a["pixels"]["front"], obs_c["pixels"]["front"])


def test_task_drawn_per_reset_when_not_fixed(env_factory):
    env = env_factory()
    tasks = {env.reset(seed=seed)[1]["task"] for seed in range(20)}
    assert len(tasks) >= 4
    _, info = env.reset(seed=0, options={"task": "push_green_cube_right"})
    assert info["task"] == "push_green_cube_right"


def test_heldout_instructions(env_factory):
    env = env_factory(task="pick_red_cube", instructions="heldout")
    task = env.current_task
    expected = {t.format(**task.slots) for t in task.heldout_templates}
    seen = {env.reset(seed=s)[1]["task_description"] for s in range(10)}
    assert seen <= expected


def test_physics_only_env_renders_nothing_and_moves_the_same(env_factory):
    seeing = env_factory(task="pick_red_cube")
    blind = env_factory(task="pick_red_cube", render_mode=None, pixels=False)
    assert set(blind.observation_space.spaces) == {"agent_pos", "environment_state"}
    (obs_seeing, _), (obs_blind, _) = seeing.reset(seed=3), blind.reset(seed=3)
    assert set(obs_blind) == {"agent_pos", "environment_state"} and blind.observation_space.contains(
        obs_blind
    )
    action = np.array(HOME_POSE, np.float32) + np.array([10, -5, 5, 0, 0, 20], np.float32)
    for _ in range(5):
        obs_seeing, *_ = seeing.step(action)
        obs_blind, *_ = blind.step(action)
    np.testing.assert_array_equal(obs_blind["agent_pos"], obs_seeing["agent_pos"])
    np.testing.assert_array_equal(obs_blind["environment_state"], obs_seeing["environment_state"])
    with pytest.raises(ValueError, match="render_mode=None"):
        env_factory(pixels=False)


def test_an_episode_limit_for_a_person_replaces_the_tasks_own(env_factory):
    """`episode_seconds` (keyboard teleop, the sim bridge, the LeRobot robot) lets an episode run past the
    task's 8 s policy limit, and ends it at its own."""
    task = env_factory(task="pick_red_cube", render_mode=None, pixels=False)
    person = env_factory(task="pick_red_cube", render_mode=None, pixels=False, episode_seconds=9.0)
    assert task.max_episode_steps == 240 and person.max_episode_steps == 270
    still = np.array(HOME_POSE, np.float32)
    for env in (task, person):
        env.reset(seed=0)
    truncated_at = {}
    for step in range(1, 271):
        for name, env in (("task", task), ("person", person)):
            if name not in truncated_at and env.step(still)[3]:
                truncated_at[name] = step
    assert truncated_at == {"task": 240, "person": 270}
    with pytest.raises(ValueError, match="episode_seconds must be > 0"):
        env_factory(episode_seconds=0.0)
