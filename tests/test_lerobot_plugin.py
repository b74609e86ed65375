"""The suite as a LeRobot env plugin: `--env.type=tabletop` through LeRobot's own factory."""

import numpy as np

from sim.robot import NUM_JOINTS


def test_lerobot_discovers_and_builds_the_env():
    from lerobot.envs.factory import make_env, make_env_config
    from lerobot.envs.utils import preprocess_observation
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()
    config = make_env_config("tabletop", task="push_yellow_cube_left")
    envs = make_env(config, n_envs=1)
    vec_env = envs["tabletop"][0]
    try:
        obs, _ = vec_env.reset(seed=[0])
        batch = preprocess_observation(obs)
        assert batch["observation.images.front"].shape == (1, 3, 128, 128)
        assert batch["observation.images.wrist"].shape == (1, 3, 128, 128)
        assert batch["observation.state"].shape == (1, NUM_JOINTS)
        assert vec_env.call("task")[0] == "push_yellow_cube_left"
        assert "yellow" in vec_env.call("task_description")[0]
        action = np.asarray(obs["agent_pos"], dtype=np.float32)
        _, reward, terminated, _, _ = vec_env.step(action)
        assert reward.shape == (1,) and not terminated[0]
    finally:
        vec_env.close()


def test_render_fps_is_an_int_for_video_writers(env_factory):
    """lerobot-eval hands `render_fps` to PyAV, which needs a rational: 30.0 failed with "'float' object has
    no attribute 'numerator'" and no video was written (tests/test_lerobot_tools.py runs the whole eval)."""
    env = env_factory(task="pick_red_cube")
    fps = env.metadata["render_fps"]
    assert type(fps) is int and fps == round(env.config.control_hz)


def test_lerobot_builds_any_composed_task_and_refuses_a_bad_name():
    import pytest
    from lerobot.envs.factory import make_env, make_env_config
    from lerobot.utils.import_utils import register_third_party_plugins

    from sim.tasks import TaskNameError

    register_third_party_plugins()
    with pytest.raises(TaskNameError, match="cube: red, green, blue, yellow, orange, purple"):
        make_env_config("tabletop", task="pick_pink_cube", suite="tabletop_compose")
    config = make_env_config("tabletop", task="push_orange_cube_left", suite="tabletop_compose")
    vec_env = make_env(config, n_envs=1)["tabletop"][0]
    try:
        obs, _ = vec_env.reset(seed=[0])
        assert vec_env.call("task")[0] == "push_orange_cube_left"
        assert "orange" in vec_env.call("task_description")[0]
        assert obs["environment_state"].shape == (1, 7 * 6 + 8)
    finally:
        vec_env.close()
